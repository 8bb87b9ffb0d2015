//! The directory of officers by commune: who a citizen who needs a person is sent to. Admins edit
//! entries one by one or replace the whole directory from a CSV file (one transaction: an import
//! with one bad row changes nothing). Every change is audited.

use super::platform_kinds::DirectoryRole;
use super::sql::{params, Conn, Row};
use super::{now_text, Db, DbError};

/// An entry before it is stored. `commune_key` is the commune's name folded for matching what
/// citizens type (`platform::directory::commune_key`); empty for a provincial desk.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDirectoryEntry {
    pub commune_code: String,
    pub commune: String,
    pub commune_key: String,
    pub role: DirectoryRole,
    pub name: String,
    pub phone: String,
    pub hours: String,
    pub address: String,
    pub note: String,
    pub verified: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryEntry {
    pub id: i64,
    pub entry: NewDirectoryEntry,
    pub updated_at: String,
}

impl DirectoryEntry {
    /// A desk of the province (not of one commune).
    pub fn is_provincial(&self) -> bool {
        self.entry.commune_key.is_empty()
    }
}

const COLUMNS: &str = "id, commune_code, commune, commune_key, role, name, phone, hours, address, note, verified, updated_at";

fn entry_row(row: &Row) -> Result<DirectoryEntry, DbError> {
    Ok(DirectoryEntry {
        id: row.get(0)?,
        entry: NewDirectoryEntry {
            commune_code: row.get(1)?,
            commune: row.get(2)?,
            commune_key: row.get(3)?,
            role: row.get(4)?,
            name: row.get(5)?,
            phone: row.get(6)?,
            hours: row.get(7)?,
            address: row.get(8)?,
            note: row.get(9)?,
            verified: row.get(10)?,
        },
        updated_at: row.get(11)?,
    })
}

fn insert_entry(c: &mut Conn<'_>, entry: &NewDirectoryEntry, now: &str) -> Result<i64, DbError> {
    c.query_one(
        "INSERT INTO directory_entries (commune_code, commune, commune_key, role, name, phone, hours, address, note, verified, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
        params![
            &entry.commune_code,
            &entry.commune,
            &entry.commune_key,
            entry.role,
            &entry.name,
            &entry.phone,
            &entry.hours,
            &entry.address,
            &entry.note,
            entry.verified,
            now
        ],
    )?
    .get(0)
}

/// One audit entry (the staff tables' `audit_log`), inside the caller's transaction.
pub(crate) fn audit_in(
    c: &mut Conn<'_>,
    staff_id: i64,
    action: &str,
    target: String,
    detail: Option<String>,
) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO audit_log (staff_id, action, target, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![staff_id, action, target, detail, now_text()],
    )
    .map(|_| ())
}

impl Db {
    /// Every entry: communes in name order, provincial desks last.
    pub async fn directory(&self) -> Result<Vec<DirectoryEntry>, DbError> {
        self.run(|c| {
            c.query(
                &format!(
                    "SELECT {COLUMNS} FROM directory_entries
                     ORDER BY commune_key = '', commune_key, role, name, id"
                ),
                params![],
            )?
            .iter()
            .map(entry_row)
            .collect()
        })
        .await
    }

    /// The entries of the commune with this key, and the provincial desks.
    pub async fn directory_for(&self, commune_key: String) -> Result<Vec<DirectoryEntry>, DbError> {
        self.run(move |c| {
            c.query(
                &format!(
                    "SELECT {COLUMNS} FROM directory_entries WHERE commune_key = ?1 OR commune_key = ''
                     ORDER BY commune_key = '', role, name, id"
                ),
                params![commune_key],
            )?
            .iter()
            .map(entry_row)
            .collect()
        })
        .await
    }

    /// The communes of the directory: (name, key), by key.
    pub async fn communes(&self) -> Result<Vec<(String, String)>, DbError> {
        self.run(|c| {
            c.query(
                "SELECT min(commune), commune_key FROM directory_entries WHERE commune_key != ''
                 GROUP BY commune_key ORDER BY commune_key",
                params![],
            )?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect()
        })
        .await
    }

    pub async fn directory_entry(&self, id: i64) -> Result<Option<DirectoryEntry>, DbError> {
        self.run(move |c| {
            c.query_opt(
                &format!("SELECT {COLUMNS} FROM directory_entries WHERE id = ?1"),
                params![id],
            )?
            .as_ref()
            .map(entry_row)
            .transpose()
        })
        .await
    }

    /// Adds an entry (`id` None) or replaces one; its id, or None when `id` names no entry.
    pub async fn save_directory_entry(
        &self,
        id: Option<i64>,
        entry: NewDirectoryEntry,
        staff_id: i64,
    ) -> Result<Option<i64>, DbError> {
        self.transaction(move |c| {
            let now = now_text();
            let saved = match id {
                None => Some(insert_entry(c, &entry, &now)?),
                Some(id) => {
                    let changed = c.execute(
                        "UPDATE directory_entries SET commune_code = ?2, commune = ?3, commune_key = ?4, role = ?5,
                           name = ?6, phone = ?7, hours = ?8, address = ?9, note = ?10, verified = ?11, updated_at = ?12
                         WHERE id = ?1",
                        params![
                            id,
                            &entry.commune_code,
                            &entry.commune,
                            &entry.commune_key,
                            entry.role,
                            &entry.name,
                            &entry.phone,
                            &entry.hours,
                            &entry.address,
                            &entry.note,
                            entry.verified,
                            &now
                        ],
                    )?;
                    (changed == 1).then_some(id)
                }
            };
            if let Some(saved) = saved {
                audit_in(c, staff_id, "directory_save", format!("directory:{saved}"), None)?;
            }
            Ok(saved)
        })
        .await
    }

    pub async fn delete_directory_entry(&self, id: i64, staff_id: i64) -> Result<bool, DbError> {
        self.transaction(move |c| {
            let deleted = c.execute("DELETE FROM directory_entries WHERE id = ?1", params![id])?;
            if deleted == 1 {
                audit_in(
                    c,
                    staff_id,
                    "directory_delete",
                    format!("directory:{id}"),
                    None,
                )?;
            }
            Ok(deleted == 1)
        })
        .await
    }

    /// Replaces the whole directory with `entries`, in one transaction; how many were stored.
    pub async fn replace_directory(
        &self,
        entries: Vec<NewDirectoryEntry>,
        staff_id: Option<i64>,
    ) -> Result<usize, DbError> {
        self.transaction(move |c| {
            let now = now_text();
            c.execute("DELETE FROM directory_entries", params![])?;
            for entry in &entries {
                insert_entry(c, entry, &now)?;
            }
            let detail = Some(format!("{} entries", entries.len()));
            match staff_id {
                Some(staff) => audit_in(c, staff, "directory_import", "directory".into(), detail)?,
                // The command line (`hoiluat directory import`) has no staff member.
                None => {
                    c.execute(
                        "INSERT INTO audit_log (staff_id, action, target, detail, at) VALUES (NULL, 'directory_import', 'directory', ?1, ?2)",
                        params![detail, &now],
                    )?;
                }
            }
            Ok(entries.len())
        })
        .await
    }
}
