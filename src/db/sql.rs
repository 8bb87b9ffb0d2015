//! One copy of each query for both backends: a statement is written once, in the SQL that SQLite
//! and PostgreSQL share, and run through [`Conn`], which hides the two client libraries.
//!
//! The two dialects differ in only two places the queries use, and [`Conn`] translates them for
//! PostgreSQL:
//! - placeholders: SQLite's `?1` is PostgreSQL's `$1`;
//! - `group_concat(x, sep)` is PostgreSQL's `string_agg(x, sep)`.
//!
//! Everything else is written the portable way: `RETURNING id` instead of `last_insert_rowid()`,
//! booleans as INTEGER 0/1, times as RFC 3339 text (compared as text, computed in Rust).
//!
//! Values cross the boundary as [`Value`] (parameters) and [`Row`] (results), so a query reads
//! the same whichever backend runs it:
//!
//! ```ignore
//! let row = conn.query_one("SELECT count(*) FROM messages WHERE channel = ?1", params!["web"])?;
//! let count: i64 = row.get(0)?;
//! ```

use super::DbError;

/// A parameter or column value, the same for both backends.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Value {
        Value::Int(i64::from(v))
    }
}

impl From<u8> for Value {
    fn from(v: u8) -> Value {
        Value::Int(i64::from(v))
    }
}

impl From<usize> for Value {
    fn from(v: usize) -> Value {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

/// Booleans are stored as INTEGER 0/1 in both schemas.
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Int(i64::from(v))
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Real(v)
    }
}

impl From<f32> for Value {
    fn from(v: f32) -> Value {
        Value::Real(f64::from(v))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_owned())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

impl<T: Clone + Into<Value>> From<&Option<T>> for Value {
    fn from(v: &Option<T>) -> Value {
        v.clone().map_or(Value::Null, Into::into)
    }
}

/// `params![a, b, c]`: the parameters `?1, ?2, ?3` of a statement, as [`Value`]s.
macro_rules! params {
    () => { &[] as &[$crate::db::sql::Value] };
    ($($value:expr),+ $(,)?) => {
        &[$($crate::db::sql::Value::from($value)),+] as &[$crate::db::sql::Value]
    };
}
pub(crate) use params;

/// A Rust type a column can be read as.
pub trait FromValue: Sized {
    fn from_value(value: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Option<i64> {
        match value {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }
}

impl FromValue for u32 {
    fn from_value(value: &Value) -> Option<u32> {
        i64::from_value(value).and_then(|v| u32::try_from(v).ok())
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Option<bool> {
        i64::from_value(value).map(|v| v != 0)
    }
}

/// SQLite stores a whole-number REAL (or `COALESCE(x, 0)`) as an integer: read both.
impl FromValue for f64 {
    fn from_value(value: &Value) -> Option<f64> {
        match value {
            Value::Real(v) => Some(*v),
            Value::Int(v) => Some(*v as f64),
            _ => None,
        }
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Option<String> {
        match value {
            Value::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Option<Option<T>> {
        match value {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// One result row, read by column index.
#[derive(Debug, Clone)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    /// Column `index` as `T`; a clear error when the column is missing, NULL for a non-`Option`,
    /// or of another type.
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T, DbError> {
        let value = self
            .values
            .get(index)
            .ok_or_else(|| DbError::Decode(format!("no column {index}")))?;
        T::from_value(value).ok_or_else(|| {
            DbError::Decode(format!(
                "column {index} holds {value:?}, not a {}",
                std::any::type_name::<T>()
            ))
        })
    }
}

/// A PostgreSQL client or transaction: the two calls [`Conn`] needs, object-safe.
pub trait PgRun {
    fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<u64, postgres::Error>;
    fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, postgres::Error>;
}

impl PgRun for postgres::Client {
    fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        postgres::Client::execute(self, sql, params)
    }
    fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, postgres::Error> {
        postgres::Client::query(self, sql, params)
    }
}

impl PgRun for postgres::Transaction<'_> {
    fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        postgres::Transaction::execute(self, sql, params)
    }
    fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, postgres::Error> {
        postgres::Transaction::query(self, sql, params)
    }
}

/// A connection of either backend (inside a transaction or not), for one `Db` call.
pub enum Conn<'a> {
    Sqlite(&'a rusqlite::Connection),
    Postgres(&'a mut dyn PgRun),
}

impl Conn<'_> {
    /// Runs a statement that returns no rows; the number of rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<usize, DbError> {
        match self {
            Conn::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                Ok(statement.execute(rusqlite::params_from_iter(params))?)
            }
            Conn::Postgres(client) => {
                let changed = client.execute(&postgres_sql(sql), &pg_params(params))?;
                Ok(usize::try_from(changed).unwrap_or(usize::MAX))
            }
        }
    }

    /// Runs a query (or a statement with `RETURNING`); every row.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        match self {
            Conn::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                let columns = statement.column_count();
                let mut rows = statement.query(rusqlite::params_from_iter(params))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let values = (0..columns)
                        .map(|i| row.get_ref(i).map(sqlite_value))
                        .collect::<Result<_, _>>()?;
                    out.push(Row { values });
                }
                Ok(out)
            }
            Conn::Postgres(client) => client
                .query(&postgres_sql(sql), &pg_params(params))?
                .iter()
                .map(pg_row)
                .collect(),
        }
    }

    /// The first row, if any.
    pub fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The first row; an error when there is none.
    pub fn query_one(&mut self, sql: &str, params: &[Value]) -> Result<Row, DbError> {
        self.query_opt(sql, params)?
            .ok_or_else(|| DbError::Decode("the query returned no row".into()))
    }
}

// ---------------------------------------------------------------------------------------------
// SQLite

impl rusqlite::types::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(v) => ValueRef::Integer(*v),
            Value::Real(v) => ValueRef::Real(*v),
            Value::Text(v) => ValueRef::Text(v.as_bytes()),
        }))
    }
}

fn sqlite_value(value: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(v) => Value::Int(v),
        ValueRef::Real(v) => Value::Real(v),
        // Every text column holds UTF-8 written by this program; a blob is never stored.
        ValueRef::Text(v) | ValueRef::Blob(v) => {
            Value::Text(String::from_utf8_lossy(v).into_owned())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/// The statement in PostgreSQL's spelling: `?N` → `$N`, `group_concat(` → `string_agg(`.
/// Text inside single quotes is left alone.
pub fn postgres_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut in_literal = false;
    let mut rest = sql;
    while let Some(c) = rest.chars().next() {
        if c == '\'' {
            in_literal = !in_literal;
        } else if !in_literal {
            if c == '?' && rest[1..].starts_with(|d: char| d.is_ascii_digit()) {
                out.push('$');
                rest = &rest[1..];
                continue;
            }
            if rest
                .get(..13)
                .is_some_and(|word| word.eq_ignore_ascii_case("group_concat("))
            {
                out.push_str("string_agg(");
                rest = &rest[13..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn pg_params(params: &[Value]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| p as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

/// PostgreSQL types parameters statically: a [`Value`] is written as whatever type the server
/// inferred for its placeholder (an `Int` into a BIGINT, INTEGER or BOOLEAN, a `Real` into a
/// DOUBLE PRECISION, …), so one `Value` fits both backends.
impl postgres::types::ToSql for Value {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::Type;
        match (self, ty) {
            (Value::Null, _) => Ok(postgres::types::IsNull::Yes),
            (Value::Int(v), &Type::INT8) => v.to_sql(ty, out),
            (Value::Int(v), &Type::INT4) => i32::try_from(*v)?.to_sql(ty, out),
            (Value::Int(v), &Type::INT2) => i16::try_from(*v)?.to_sql(ty, out),
            (Value::Int(v), &Type::BOOL) => (*v != 0).to_sql(ty, out),
            (Value::Int(v), &Type::FLOAT8) => (*v as f64).to_sql(ty, out),
            (Value::Real(v), &Type::FLOAT8) => v.to_sql(ty, out),
            (Value::Real(v), &Type::FLOAT4) => (*v as f32).to_sql(ty, out),
            (Value::Text(v), _) if <&str as postgres::types::ToSql>::accepts(ty) => {
                v.as_str().to_sql(ty, out)
            }
            (value, ty) => Err(format!("cannot write {value:?} as PostgreSQL type {ty}").into()),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        // Checked per value in `to_sql`, which names both sides when they do not fit.
        true
    }

    postgres::types::to_sql_checked!();
}

fn pg_row(row: &postgres::Row) -> Result<Row, DbError> {
    use postgres::types::Type;
    let values = row
        .columns()
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let value = match *column.type_() {
                Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
                Type::INT4 => row
                    .try_get::<_, Option<i32>>(i)?
                    .map(|v| Value::Int(v.into())),
                Type::INT2 => row
                    .try_get::<_, Option<i16>>(i)?
                    .map(|v| Value::Int(v.into())),
                Type::BOOL => row
                    .try_get::<_, Option<bool>>(i)?
                    .map(|v| Value::Int(v.into())),
                Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(Value::Real),
                Type::FLOAT4 => row
                    .try_get::<_, Option<f32>>(i)?
                    .map(|v| Value::Real(v.into())),
                _ => row.try_get::<_, Option<String>>(i)?.map(Value::Text),
            };
            Ok(value.unwrap_or(Value::Null))
        })
        .collect::<Result<_, postgres::Error>>()?;
    Ok(Row { values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_spelled_for_postgres() {
        assert_eq!(
            postgres_sql("SELECT group_concat(reason, ',') FROM f WHERE a = ?1 AND b = ?12"),
            "SELECT string_agg(reason, ',') FROM f WHERE a = $1 AND b = $12"
        );
        // Literals are not touched.
        assert_eq!(
            postgres_sql("SELECT '?1' WHERE x = ?2"),
            "SELECT '?1' WHERE x = $2"
        );
        assert_eq!(
            postgres_sql("SELECT 'lĩnh vực' = ?1"),
            "SELECT 'lĩnh vực' = $1"
        );
    }

    #[test]
    fn values_read_back_as_their_types() {
        let row = Row {
            values: vec![
                Value::Int(3),
                Value::Null,
                Value::Int(0),
                Value::Text("x".into()),
            ],
        };
        assert_eq!(row.get::<i64>(0).unwrap(), 3);
        assert_eq!(row.get::<f64>(0).unwrap(), 3.0);
        assert_eq!(row.get::<Option<String>>(1).unwrap(), None);
        assert!(!row.get::<bool>(2).unwrap());
        assert_eq!(row.get::<String>(3).unwrap(), "x");
        assert!(row.get::<String>(1).is_err());
        assert!(row.get::<i64>(9).is_err());
    }
}
