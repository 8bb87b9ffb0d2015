//! First come, first served admission to the CPU-bound part of an answer (embedding, search,
//! re-rank, composing).
//!
//! Why: under load, every question in flight used to run at once on its own blocking thread.
//! With two cores and eight questions, the operating system time-sliced them, and the embedding
//! sessions were taken by whichever thread won a lock race, so a question could wait behind
//! later ones: the 99th percentile was 2.5× the median. Admitting at most as many questions as
//! there are embedding sessions, in arrival order, makes each admitted question run at full
//! speed and every question wait only for those that came before it.

use std::sync::{Condvar, Mutex};

/// A counting semaphore that admits waiters strictly in the order they arrived (ticket order).
pub struct FairGate {
    permits: u64,
    state: Mutex<Tickets>,
    turn: Condvar,
}

struct Tickets {
    /// The next ticket handed out.
    next: u64,
    /// How many admitted holders have left.
    released: u64,
}

/// Held while the work runs; dropping it admits the next waiter.
pub struct Admission<'a> {
    gate: &'a FairGate,
}

impl FairGate {
    /// A gate that lets `permits` holders in at once (at least one).
    pub fn new(permits: usize) -> FairGate {
        FairGate {
            permits: permits.max(1) as u64,
            state: Mutex::new(Tickets {
                next: 0,
                released: 0,
            }),
            turn: Condvar::new(),
        }
    }

    /// Blocks until every earlier caller was admitted and a permit is free.
    pub fn enter(&self) -> Admission<'_> {
        let arrived = std::time::Instant::now();
        let mut state = self.lock();
        let ticket = state.next;
        state.next += 1;
        crate::metrics::model_queue_depth(self.waiting(&state));
        // Ticket t may run once all but `permits - 1` of the tickets before it have left.
        while ticket >= state.released + self.permits {
            state = self
                .turn
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        crate::metrics::model_admitted(arrived.elapsed());
        Admission { gate: self }
    }

    /// Callers holding a ticket that has not been admitted yet.
    fn waiting(&self, state: &Tickets) -> u64 {
        (state.next - state.released).saturating_sub(self.permits)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tickets> {
        // The counters are updated in single statements, so a panic elsewhere cannot leave them
        // inconsistent; keep admitting rather than wedging every later question.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        let mut state = self.gate.lock();
        state.released += 1;
        crate::metrics::model_queue_depth(self.gate.waiting(&state));
        drop(state);
        // Waiters check their own ticket; with a handful of them, waking all is cheaper than
        // tracking one condition variable per ticket.
        self.gate.turn.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn never_admits_more_than_its_permits() {
        let gate = Arc::new(FairGate::new(2));
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (gate, inside, most) = (gate.clone(), inside.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let _admission = gate.enter();
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_micros(200));
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert_eq!(inside.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn admits_in_arrival_order() {
        let gate = Arc::new(FairGate::new(1));
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = gate.enter();
        let mut threads = Vec::new();
        for i in 0..5 {
            let (waiter, order) = (gate.clone(), order.clone());
            threads.push(std::thread::spawn(move || {
                let _admission = waiter.enter();
                order.lock().unwrap().push(i);
            }));
            // Let thread i take its ticket before thread i + 1 is started.
            while gate.lock().next < i as u64 + 2 {
                std::thread::yield_now();
            }
        }
        drop(first);
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_panicking_holder_still_lets_the_next_in() {
        let gate = Arc::new(FairGate::new(1));
        let holder = gate.clone();
        let result = std::thread::spawn(move || {
            let _admission = holder.enter();
            panic!("work failed");
        })
        .join();
        assert!(result.is_err());
        let _admission = gate.enter();
    }
}
