//! Masking of personal data in what citizens wrote, for the staff console and exports: phone
//! numbers, CCCD/CMND numbers (9 or 12 digits), and e-mail addresses. Raw text is shown to admins
//! only, on request, and that view is audited.

/// Replaces personal data in `text` with placeholders that keep the shape of the sentence.
pub fn mask_personal_data(text: &str) -> String {
    let masked = mask_emails(text);
    mask_digit_runs(&masked)
}

fn mask_emails(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(|token| {
            let word = token.trim_end();
            let core = word.trim_matches(|c: char| {
                matches!(c, ',' | '.' | ';' | ':' | '(' | ')' | '"' | '\'')
            });
            match core.split_once('@') {
                Some((user, domain)) if !user.is_empty() && domain.contains('.') => {
                    token.replacen(core, "[email]", 1)
                }
                _ => token.to_owned(),
            }
        })
        .collect()
}

/// What people put between the digit groups of a phone or identity number: spaces, dots, dashes
/// of every width, slashes, and the brackets of an area code ("(0255) 3822 123").
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{a0}' | '.' | '-' | '\u{2013}' | '\u{2014}' | '/' | '(' | ')'
    )
}

/// Longest run of separators between two digit groups ("0905 - 123").
const MAX_SEPARATORS: usize = 3;

/// Runs of digits, with separators between the groups as people write phone numbers, of 9 or
/// more digits are phone or identity numbers; shorter ones (years, article numbers, amounts,
/// dates) stay. A run written with slashes uses only slashes ("051/190/001/234"), so a date
/// followed by a time or a number ("19/06/2014 10") is not read as one number.
fn mask_digit_runs(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let digit_at = |i: usize| chars.get(i).is_some_and(char::is_ascii_digit);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts = digit_at(i) || (matches!(chars[i], '+' | '(') && digit_at(i + 1));
        if !starts {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i + 1;
        let mut digits = usize::from(digit_at(i));
        // `Some(true)`: the run's groups are separated by slashes; `Some(false)`: by anything else.
        let mut slashes: Option<bool> = None;
        loop {
            if digit_at(end) {
                digits += 1;
                end += 1;
                continue;
            }
            let mut next = end;
            while next < chars.len() && next - end < MAX_SEPARATORS && is_separator(chars[next]) {
                next += 1;
            }
            let gap = &chars[end..next];
            let with_slash = gap.contains(&'/');
            let same_kind = match slashes {
                None => true,
                Some(true) => gap == ['/'],
                Some(false) => !with_slash,
            };
            if next > end && digit_at(next) && digit_at(end - 1) && same_kind {
                slashes = Some(with_slash);
                end = next;
            } else {
                break;
            }
        }
        if digits >= 9 {
            // An opening bracket the number does not close stays, so brackets stay balanced.
            if chars[start] == '(' && !chars[start..end].contains(&')') {
                out.push('(');
            }
            out.push_str(if digits == 9 || digits == 12 {
                "[số giấy tờ/điện thoại]"
            } else {
                "[số điện thoại]"
            });
        } else {
            out.extend(&chars[start..end]);
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_ids_and_emails_are_masked() {
        let masked = mask_personal_data(
            "Tôi tên Lan, sđt 0905 123 456, CCCD 051190001234, email lan.nguyen@gmail.com. Hỏi về Điều 8 năm 2014, phạt 5.000.000 đồng?",
        );
        assert!(!masked.contains("0905"), "{masked}");
        assert!(!masked.contains("051190001234"), "{masked}");
        assert!(!masked.contains("lan.nguyen"), "{masked}");
        assert!(masked.contains("[email]"), "{masked}");
        assert!(masked.contains("Điều 8 năm 2014"), "{masked}");
        assert!(
            masked.contains("5.000.000"),
            "amounts of 7 digits stay: {masked}"
        );
        assert_eq!(mask_personal_data("+84 905 123 456"), "[số điện thoại]");
        assert_eq!(
            mask_personal_data("CMND 212345678"),
            "CMND [số giấy tờ/điện thoại]"
        );
    }

    #[test]
    fn numbers_written_with_brackets_dashes_and_slashes_are_masked() {
        for (written, digits) in [
            ("(0255) 3822 123", "3822"),
            ("0905 - 123 - 456", "0905"),
            ("0905–123–456", "0905"),
            ("0905 — 123 — 456", "0905"),
            ("051/190/001/234", "051"),
            ("+84 (905) 123-456", "905"),
        ] {
            let masked = mask_personal_data(&format!("Gọi tôi số {written} nhé."));
            assert!(!masked.contains(digits), "{written}: {masked}");
            assert!(masked.starts_with("Gọi tôi số [số"), "{written}: {masked}");
            assert!(masked.ends_with("] nhé."), "{written}: {masked}");
        }
        // Legal references, dates and amounts stay readable.
        for kept in [
            "Nghị định 100/2019/NĐ-CP",
            "Luật số 52/2014/QH13 ngày 19/06/2014",
            "Điều 8 - 10",
            "phạt 5.000.000 đồng",
            "từ 01/01/2025",
        ] {
            assert_eq!(mask_personal_data(kept), kept);
        }
    }

    proptest::proptest! {
        #![proptest_config(crate::proptest_support::config())]

        /// Any text: no panic, nothing left to mask afterwards (no run of 9 or more digits, no
        /// e-mail address), and text without digits or '@' comes back unchanged.
        #[test]
        fn masking_leaves_nothing_to_mask(text in crate::proptest_support::outside_text(200)) {
            let masked = mask_personal_data(&text);
            proptest::prop_assert_eq!(mask_personal_data(&masked), masked.clone());
            if !text.contains(|c: char| c.is_ascii_digit() || c == '@') {
                proptest::prop_assert_eq!(&masked, &text);
            }
        }

        /// Phone numbers written any of the usual ways are masked, wherever they stand.
        #[test]
        fn phone_numbers_are_masked_in_any_text(
            before in crate::proptest_support::outside_text(20),
            groups in proptest::collection::vec("[0-9]{3,4}", 3),
            separator in proptest::sample::select(vec![" ", ".", "-", " - ", "\u{2013}", "/"]),
        ) {
            let number = groups.join(separator);
            let text = format!("{before} sđt {number} nhé");
            let masked = mask_personal_data(&text);
            proptest::prop_assert!(!masked.contains(&number), "{masked}");
        }
    }
}
