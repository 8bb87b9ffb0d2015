//! The directory of officers by commune: the CSV format admins import it in (and export it as),
//! and how the commune a citizen types is found in it.
//!
//! Quảng Ngãi has had two tiers of local government since 1 July 2025 (the province, merged with
//! Kon Tum, and its communes, wards and special zone); there are no districts, so a commune is
//! the unit citizens are sent to. The shipped seed (`data/directory-seed.csv`) holds only the
//! provincial desks; the commune list with its mediators is loaded and verified by staff.
//!
//! CSV: UTF-8 (a byte-order mark is accepted), comma-separated, a header line with these columns
//! in any order: `ma_xa, xa_phuong, vai_tro, ho_ten, dien_thoai, gio_lam_viec, dia_chi, ghi_chu,
//! da_xac_minh`. An empty `xa_phuong` (or "Cấp tỉnh") is a provincial desk.

use crate::db::{DirectoryEntry, DirectoryRole, NewDirectoryEntry};
use crate::text::{fold_case, strip_diacritics};

/// Most rows an import accepts (the province has about a hundred communes).
pub const MAX_ROWS: usize = 5_000;
/// Longest field, in characters.
pub const MAX_FIELD_CHARS: usize = 300;

const COLUMNS: [&str; 9] = [
    "ma_xa",
    "xa_phuong",
    "vai_tro",
    "ho_ten",
    "dien_thoai",
    "gio_lam_viec",
    "dia_chi",
    "ghi_chu",
    "da_xac_minh",
];

/// What names a provincial desk in the `xa_phuong` column.
pub const PROVINCIAL: &str = "Cấp tỉnh";

/// Why an import was refused: every problem with its line, in Vietnamese (shown to admins).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportErrors(pub Vec<String>);

/// The name of a commune folded for matching: lowercase, no diacritics, spaces collapsed
/// ("Phường Cẩm Thành" → "phuong cam thanh"); empty for a provincial desk.
pub fn commune_key(name: &str) -> String {
    let folded = strip_diacritics(&fold_case(name));
    let key = folded.split_whitespace().collect::<Vec<_>>().join(" ");
    if key.is_empty() || key == strip_diacritics(&fold_case(PROVINCIAL)) {
        String::new()
    } else {
        key
    }
}

/// The key without the kind of unit ("xã", "phường", "đặc khu"), as citizens often leave it out.
fn base_name(key: &str) -> &str {
    for prefix in ["xa ", "phuong ", "dac khu ", "thi tran "] {
        if let Some(rest) = key.strip_prefix(prefix) {
            return rest;
        }
    }
    key
}

/// How the commune a citizen typed was found among `communes` ((name, key) pairs).
#[derive(Debug, Clone, PartialEq)]
pub enum CommuneMatch {
    One {
        name: String,
        key: String,
    },
    /// Several fit: the citizen chooses (at most six).
    Several(Vec<(String, String)>),
    None,
}

pub fn find_commune(typed: &str, communes: &[(String, String)]) -> CommuneMatch {
    let typed_key = commune_key(typed);
    if typed_key.is_empty() {
        return CommuneMatch::None;
    }
    if let Some((name, key)) = communes.iter().find(|(_, key)| *key == typed_key) {
        return CommuneMatch::One {
            name: name.clone(),
            key: key.clone(),
        };
    }
    let typed_base = base_name(&typed_key);
    let same_base: Vec<&(String, String)> = communes
        .iter()
        .filter(|(_, key)| base_name(key) == typed_base)
        .collect();
    let candidates = if !same_base.is_empty() {
        same_base
    } else if typed_base.chars().count() >= 3 {
        communes
            .iter()
            .filter(|(_, key)| {
                let base = base_name(key);
                base.contains(typed_base)
                    || (base.chars().count() >= 3 && typed_base.contains(base))
            })
            .collect()
    } else {
        Vec::new()
    };
    match candidates.as_slice() {
        [] => CommuneMatch::None,
        [(name, key)] => CommuneMatch::One {
            name: name.clone(),
            key: key.clone(),
        },
        several => CommuneMatch::Several(several.iter().take(6).map(|c| (*c).clone()).collect()),
    }
}

/// Whether a message sent where a commune was asked for reads as a new question instead.
pub fn looks_like_a_question(text: &str) -> bool {
    text.contains('?') || crate::text::syllables(text).len() > 6
}

/// The role named in a CSV cell: its stored name or its Vietnamese label, with or without
/// diacritics.
fn parse_role(cell: &str) -> Option<DirectoryRole> {
    let folded = strip_diacritics(&fold_case(cell.trim()));
    DirectoryRole::parse(folded.as_str()).or_else(|| {
        let role = match folded.as_str() {
            "hoa giai vien" | "hoa giai vien o co so" | "to hoa giai" => DirectoryRole::Mediator,
            "cong chuc tu phap - ho tich" | "cong chuc tu phap ho tich" | "tu phap xa" => {
                DirectoryRole::CommuneJustice
            }
            "tro giup phap ly" | "trung tam tro giup phap ly" => DirectoryRole::LegalAid,
            "so tu phap" => DirectoryRole::JusticeDepartment,
            _ => return None,
        };
        Some(role)
    })
}

/// A phone number as people write it: digits with spaces, dots, dashes, parentheses, a leading
/// "+"; 6 to 15 digits (short hotlines included).
pub fn valid_phone(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    (6..=15).contains(&digits)
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '.' | '-' | '(' | ')' | '+'))
}

fn yes(cell: &str) -> bool {
    matches!(
        strip_diacritics(&fold_case(cell.trim())).as_str(),
        "1" | "x" | "co" | "yes" | "true" | "da xac minh"
    )
}

/// Parses a whole CSV file; every row valid, or every problem found.
pub fn parse_csv(text: &str) -> Result<Vec<NewDirectoryEntry>, ImportErrors> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut errors = Vec::new();
    let header: Vec<String> = match reader.headers() {
        Ok(header) => header
            .iter()
            .map(|h| strip_diacritics(&fold_case(h)).replace(' ', "_"))
            .collect(),
        Err(error) => {
            return Err(ImportErrors(vec![format!(
                "Không đọc được dòng tiêu đề: {error}"
            )]))
        }
    };
    let position = |name: &str| header.iter().position(|h| h == name);
    for required in ["xa_phuong", "vai_tro", "ho_ten"] {
        if position(required).is_none() {
            errors.push(format!(
                "Thiếu cột \"{required}\" ở dòng tiêu đề (các cột: {}).",
                COLUMNS.join(", ")
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ImportErrors(errors));
    }
    let mut entries = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                errors.push(format!("Dòng {line}: không đọc được ({error})."));
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        if entries.len() >= MAX_ROWS {
            errors.push(format!("Tệp có quá {MAX_ROWS} dòng."));
            break;
        }
        let cell = |name: &str| {
            position(name)
                .and_then(|i| record.get(i))
                .unwrap_or("")
                .to_owned()
        };
        let mut problems = Vec::new();
        for name in COLUMNS {
            let value = cell(name);
            if value.chars().count() > MAX_FIELD_CHARS {
                problems.push(format!("cột {name} dài quá {MAX_FIELD_CHARS} ký tự"));
            }
            if value.chars().any(char::is_control) {
                problems.push(format!("cột {name} có ký tự điều khiển"));
            }
        }
        let commune = cell("xa_phuong");
        let commune = if commune.is_empty() {
            PROVINCIAL.to_owned()
        } else {
            commune
        };
        let role = parse_role(&cell("vai_tro"));
        if role.is_none() {
            problems.push(format!(
                "vai trò \"{}\" không hợp lệ (hoa_giai_vien, tu_phap_xa, tro_giup_phap_ly, so_tu_phap)",
                cell("vai_tro")
            ));
        }
        let name = cell("ho_ten");
        if name.is_empty() {
            problems.push("thiếu họ tên hoặc tên đơn vị".into());
        }
        let phone = cell("dien_thoai");
        if !phone.is_empty() && !valid_phone(&phone) {
            problems.push(format!("số điện thoại \"{phone}\" không hợp lệ"));
        }
        let code = cell("ma_xa");
        if !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            problems.push(format!("mã xã \"{code}\" chỉ được gồm chữ và số"));
        }
        if !problems.is_empty() {
            errors.push(format!("Dòng {line}: {}.", problems.join("; ")));
            continue;
        }
        let Some(role) = role else { continue };
        entries.push(NewDirectoryEntry {
            commune_key: commune_key(&commune),
            commune_code: code,
            commune,
            role,
            name,
            phone,
            hours: cell("gio_lam_viec"),
            address: cell("dia_chi"),
            note: cell("ghi_chu"),
            verified: yes(&cell("da_xac_minh")),
        });
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(ImportErrors(errors))
    }
}

/// The directory as a CSV file in the import format (so an export can be edited and imported).
pub fn to_csv(entries: &[DirectoryEntry]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    // Writing into memory cannot fail.
    let _ = writer.write_record(COLUMNS);
    for DirectoryEntry { entry, .. } in entries {
        let _ = writer.write_record([
            entry.commune_code.as_str(),
            entry.commune.as_str(),
            entry.role.as_str(),
            entry.name.as_str(),
            entry.phone.as_str(),
            entry.hours.as_str(),
            entry.address.as_str(),
            entry.note.as_str(),
            if entry.verified { "có" } else { "" },
        ]);
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn communes() -> Vec<(String, String)> {
        [
            "Phường Cẩm Thành",
            "Xã Bình Sơn",
            "Xã Sơn Hà",
            "Xã Sơn Hải",
            "Đặc khu Lý Sơn",
        ]
        .iter()
        .map(|name| (name.to_string(), commune_key(name)))
        .collect()
    }

    #[test]
    fn communes_are_found_as_citizens_type_them() {
        let found = |typed: &str| match find_commune(typed, &communes()) {
            CommuneMatch::One { name, .. } => name,
            other => format!("{other:?}"),
        };
        assert_eq!(found("Phường Cẩm Thành"), "Phường Cẩm Thành");
        assert_eq!(found("cam thanh"), "Phường Cẩm Thành");
        assert_eq!(found("ly son"), "Đặc khu Lý Sơn");
        assert_eq!(found("xã bình sơn"), "Xã Bình Sơn");
        assert_eq!(found("Sơn Hà"), "Xã Sơn Hà");
        assert!(matches!(
            find_commune("son ha", &communes()),
            CommuneMatch::One { .. }
        ));
        // "Sơn" is part of four names: the citizen chooses.
        assert!(matches!(
            find_commune("Sơn", &communes()),
            CommuneMatch::Several(list) if list.len() == 4
        ));
        assert_eq!(find_commune("Hà Nội", &communes()), CommuneMatch::None);
        assert_eq!(find_commune("", &communes()), CommuneMatch::None);
        assert_eq!(commune_key("Cấp tỉnh"), "");
        assert!(looks_like_a_question(
            "Thủ tục ly hôn đơn phương mất bao lâu vậy ạ"
        ));
        assert!(!looks_like_a_question("Xã Bình Sơn"));
    }

    #[test]
    fn a_valid_file_imports_and_round_trips() {
        let csv = "\u{feff}xa_phuong,vai_tro,ho_ten,dien_thoai,gio_lam_viec,ma_xa,da_xac_minh\n\
                   Phường Cẩm Thành,Hòa giải viên,Tổ hòa giải tổ dân phố 1,0255 3 822 111,\"Thứ Hai – Thứ Sáu, 7h30–17h\",21025,có\n\
                   ,so_tu_phap,Sở Tư pháp tỉnh Quảng Ngãi,,,,\n";
        let entries = parse_csv(csv).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].role, DirectoryRole::Mediator);
        assert_eq!(entries[0].commune_key, "phuong cam thanh");
        assert_eq!(entries[0].hours, "Thứ Hai – Thứ Sáu, 7h30–17h");
        assert!(entries[0].verified);
        assert_eq!(entries[1].commune, PROVINCIAL);
        assert_eq!(entries[1].commune_key, "");
        let stored: Vec<DirectoryEntry> = entries
            .iter()
            .enumerate()
            .map(|(i, entry)| DirectoryEntry {
                id: i as i64,
                entry: entry.clone(),
                updated_at: String::new(),
            })
            .collect();
        assert_eq!(parse_csv(&to_csv(&stored)).unwrap(), entries);
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let csv = "xa_phuong,vai_tro,ho_ten,dien_thoai\n\
                   Xã Bình Sơn,thu_ky,Nguyễn Văn A,0912\n\
                   Xã Bình Sơn,hoa_giai_vien,,\n\
                   Xã Bình Sơn,hoa_giai_vien,Tổ hòa giải thôn 2,0912 345 678\n";
        let ImportErrors(errors) = parse_csv(csv).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].starts_with("Dòng 2:") && errors[0].contains("vai trò"),
            "{errors:?}"
        );
        assert!(errors[0].contains("số điện thoại"), "{errors:?}");
        assert!(
            errors[1].starts_with("Dòng 3:") && errors[1].contains("họ tên"),
            "{errors:?}"
        );
        let ImportErrors(errors) = parse_csv("ten,so\nA,1\n").unwrap_err();
        assert!(errors.iter().any(|e| e.contains("xa_phuong")), "{errors:?}");
    }
}
