//! The query adapter of the dense channel: a square matrix that maps the question's e5 vector
//! before the ranked pool's dense search, learnt offline by `eval/ranker/train_adapter.py`.
//!
//! Passages keep the model's own vectors, so the compendium is never embedded again; only the
//! question side moves, towards where the articles that answer such questions lie. It is the
//! part of contrastive fine-tuning a 2-core CPU can train (eval/README.md, round 9).
//!
//! The file, compiled in from `src/answer/query_adapter.bin`, little-endian:
//!
//! ```text
//! b"HLQA" | u32 format (1) | u32 dimension d | d × d f32, row by row (output × input)
//! ```
//!
//! A test reproduces the trainer's own images of saved vectors (`query_adapter_check.json`).

/// The trained matrix, compiled in.
const MODEL: &[u8] = include_bytes!("query_adapter.bin");

const MAGIC: &[u8; 4] = b"HLQA";
const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error("the query adapter is malformed: {0}")]
    Malformed(&'static str),
    #[error(
        "the query adapter was trained for {found}-dimensional vectors, the model gives {expected}"
    )]
    Dimension { found: usize, expected: usize },
}

/// The matrix, row by row.
#[derive(Debug)]
pub struct QueryAdapter {
    dimension: usize,
    matrix: Vec<f32>,
}

impl QueryAdapter {
    /// The compiled-in adapter, for an embedder of `dimension`.
    pub fn compiled_in(dimension: usize) -> Result<QueryAdapter, AdapterError> {
        QueryAdapter::from_bytes(MODEL, dimension)
    }

    pub fn from_bytes(bytes: &[u8], dimension: usize) -> Result<QueryAdapter, AdapterError> {
        let header = bytes
            .get(..12)
            .ok_or(AdapterError::Malformed("shorter than its header"))?;
        if &header[..4] != MAGIC {
            return Err(AdapterError::Malformed("not a query adapter"));
        }
        let word = |at: usize| {
            u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
        };
        if word(4) != FORMAT {
            return Err(AdapterError::Malformed("unknown format"));
        }
        let found = word(8) as usize;
        if found != dimension {
            return Err(AdapterError::Dimension {
                found,
                expected: dimension,
            });
        }
        let body = &bytes[12..];
        if Some(body.len()) != found.checked_mul(found).and_then(|n| n.checked_mul(4)) {
            return Err(AdapterError::Malformed(
                "the matrix is not dimension × dimension",
            ));
        }
        let matrix: Vec<f32> = body
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if !matrix.iter().all(|v| v.is_finite()) {
            return Err(AdapterError::Malformed("a value is not finite"));
        }
        Ok(QueryAdapter { dimension, matrix })
    }

    /// The question's vector for the dense search: the matrix times `vector`, of unit length.
    /// A vector of another length, or one the matrix sends to zero, is returned as it is: the
    /// search then runs on e5's own vector.
    pub fn adapt(&self, vector: &[f32]) -> Vec<f32> {
        if vector.len() != self.dimension {
            return vector.to_vec();
        }
        let mut adapted: Vec<f32> = self
            .matrix
            .chunks_exact(self.dimension)
            .map(|row| row.iter().zip(vector).map(|(w, x)| w * x).sum())
            .collect();
        let norm = adapted.iter().map(|v| v * v).sum::<f32>().sqrt();
        if !norm.is_normal() {
            return vector.to_vec();
        }
        adapted.iter_mut().for_each(|v| *v /= norm);
        adapted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dimension: u32, values: &[f32]) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend(FORMAT.to_le_bytes());
        bytes.extend(dimension.to_le_bytes());
        for v in values {
            bytes.extend(v.to_le_bytes());
        }
        bytes
    }

    #[test]
    fn the_compiled_in_adapter_reproduces_the_trainers_images() {
        let adapter = QueryAdapter::compiled_in(384).expect("the shipped adapter is valid");
        let rows: Vec<serde_json::Value> =
            serde_json::from_str(include_str!("query_adapter_check.json")).expect("check rows");
        assert!(!rows.is_empty());
        for row in rows {
            let input: Vec<f32> = serde_json::from_value(row["input"].clone()).expect("input");
            let output: Vec<f32> = serde_json::from_value(row["output"].clone()).expect("output");
            let adapted = adapter.adapt(&input);
            assert_eq!(adapted.len(), output.len());
            for (got, want) in adapted.iter().zip(&output) {
                assert!((got - want).abs() < 1e-5, "{got} vs {want}");
            }
            // It moved the vector: an identity would make the check meaningless.
            let moved: f32 = adapted.iter().zip(&input).map(|(a, b)| (a - b).abs()).sum();
            assert!(moved > 1e-3);
        }
    }

    #[test]
    fn a_matrix_maps_and_normalises() {
        let adapter = QueryAdapter::from_bytes(&file(2, &[0.0, 2.0, 1.0, 0.0]), 2).unwrap();
        assert_eq!(adapter.adapt(&[3.0, 0.0]), vec![0.0, 1.0]);
        assert_eq!(adapter.adapt(&[0.0, 0.5]), vec![1.0, 0.0]);
    }

    #[test]
    fn what_cannot_be_adapted_is_searched_as_it_is() {
        let zero = QueryAdapter::from_bytes(&file(2, &[0.0; 4]), 2).unwrap();
        assert_eq!(zero.adapt(&[0.6, 0.8]), vec![0.6, 0.8]);
        assert_eq!(zero.adapt(&[1.0, 0.0, 0.0]), vec![1.0, 0.0, 0.0]);
        assert_eq!(zero.adapt(&[]), Vec::<f32>::new());
    }

    #[test]
    fn malformed_files_are_refused() {
        assert!(QueryAdapter::from_bytes(b"HLQA", 2).is_err());
        assert!(QueryAdapter::from_bytes(&file(2, &[1.0; 3]), 2).is_err());
        assert!(QueryAdapter::from_bytes(&file(2, &[1.0, f32::NAN, 0.0, 1.0]), 2).is_err());
        assert!(matches!(
            QueryAdapter::from_bytes(&file(2, &[1.0; 4]), 3),
            Err(AdapterError::Dimension {
                found: 2,
                expected: 3
            })
        ));
        let mut other = file(2, &[1.0; 4]);
        other[0] = b'X';
        assert!(QueryAdapter::from_bytes(&other, 2).is_err());
        // A dimension whose square overflows is refused, not allocated.
        assert!(QueryAdapter::from_bytes(&file(u32::MAX, &[]), u32::MAX as usize).is_err());
    }
}
