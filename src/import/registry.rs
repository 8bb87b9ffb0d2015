//! The two reviewed registries beside the curation, which say what the texts themselves cannot:
//!
//! - `corpus/validity.toml`: documents known to be replaced or partly repealed, with what replaced
//!   them, from when, and the clause that says so. The compendium records no validity per document;
//!   without this list a replaced law would be quoted as if in force.
//! - `corpus/amendments.toml`: articles that a later document changed, with the amending document,
//!   its effective date and what it changed. The importer writes them into the articles
//!   (`<!-- sua_doi: … -->`), and an answer quoting such an article says so.
//!
//! Both are written by people (a script lists candidates: `corpus/tools/`); mistakes are errors.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};
use chrono::NaiveDate;
use serde::Deserialize;

use crate::corpus::load::so_hieu_key;
use crate::corpus::{Amendment, Validity};

/// `corpus/validity.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidityRegistry {
    #[serde(default)]
    pub van_ban: Vec<ValidityEntry>,
}

/// One document whose status is known from another text.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidityEntry {
    pub so_hieu: String,
    /// A name people know it by, e.g. "Luật Đất đai 2013" (for reading the registry only).
    pub ten: String,
    /// `het_hieu_luc` or `het_hieu_luc_mot_phan`.
    pub tinh_trang: String,
    /// What replaced it (wholly or the parts that expired).
    #[serde(default)]
    pub bi_thay_the_boi: Vec<String>,
    /// From when.
    pub tu_ngay: String,
    /// The clause that says so, quoted or cited: "Khoản 4 Điều 252 Luật Đất đai số 31/2024/QH15".
    pub can_cu: String,
    /// When a person checked this entry.
    pub ngay_kiem_tra: String,
}

impl ValidityEntry {
    pub fn validity(&self) -> Validity {
        Validity::from_slug(&self.tinh_trang).unwrap_or(Validity::Expired)
    }
}

impl ValidityRegistry {
    /// Reads the registry; a missing file is an empty registry.
    pub fn read(path: &Path) -> anyhow::Result<ValidityRegistry> {
        if !path.exists() {
            return Ok(ValidityRegistry::default());
        }
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let registry: ValidityRegistry =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        registry.validate()?;
        Ok(registry)
    }

    fn validate(&self) -> anyhow::Result<()> {
        let mut seen = BTreeMap::new();
        for entry in &self.van_ban {
            let name = &entry.so_hieu;
            if seen.insert(so_hieu_key(name), ()).is_some() {
                bail!("validity registry: {name} is listed twice");
            }
            match Validity::from_slug(&entry.tinh_trang) {
                Some(Validity::Expired | Validity::PartlyExpired) => {}
                _ => bail!(
                    "validity registry: {name}: tinh_trang must be het_hieu_luc or het_hieu_luc_mot_phan"
                ),
            }
            if entry.tinh_trang == "het_hieu_luc" && entry.bi_thay_the_boi.is_empty() {
                bail!("validity registry: {name}: an expired document needs bi_thay_the_boi");
            }
            for (key, date) in [
                ("tu_ngay", &entry.tu_ngay),
                ("ngay_kiem_tra", &entry.ngay_kiem_tra),
            ] {
                NaiveDate::parse_from_str(date, "%Y-%m-%d").with_context(|| {
                    format!("validity registry: {name}: {key} {date:?} is not YYYY-MM-DD")
                })?;
            }
            if entry.can_cu.trim().is_empty() || entry.ten.trim().is_empty() {
                bail!("validity registry: {name}: ten and can_cu are required");
            }
        }
        Ok(())
    }

    /// The entry for a số hiệu, compared without case or spaces.
    pub fn get(&self, so_hieu: &str) -> Option<&ValidityEntry> {
        let key = so_hieu_key(so_hieu);
        self.van_ban
            .iter()
            .find(|entry| so_hieu_key(&entry.so_hieu) == key)
    }
}

/// `corpus/amendments.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmendmentRegistry {
    #[serde(default)]
    pub sua_doi: Vec<AmendmentEntry>,
}

/// Articles of one document changed by one provision of a later document.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmendmentEntry {
    /// The amended document.
    pub van_ban: String,
    /// Its amended articles ("7", "10a").
    pub dieu: Vec<String>,
    /// The amending document.
    pub boi: String,
    /// When the change takes effect.
    pub tu_ngay: String,
    /// What changed, in the amending document's words (one line).
    pub noi_dung: String,
}

impl AmendmentRegistry {
    /// Reads the registry; a missing file is an empty registry.
    pub fn read(path: &Path) -> anyhow::Result<AmendmentRegistry> {
        if !path.exists() {
            return Ok(AmendmentRegistry::default());
        }
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let registry: AmendmentRegistry =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        for entry in &registry.sua_doi {
            NaiveDate::parse_from_str(&entry.tu_ngay, "%Y-%m-%d").with_context(|| {
                format!(
                    "amendment registry: {} by {}: tu_ngay {:?} is not YYYY-MM-DD",
                    entry.van_ban, entry.boi, entry.tu_ngay
                )
            })?;
            if entry.dieu.is_empty()
                || entry.noi_dung.trim().is_empty()
                || entry.noi_dung.contains('\n')
                || entry.noi_dung.contains('|')
            {
                bail!(
                    "amendment registry: {} by {}: dieu and a one-line noi_dung without '|' are required",
                    entry.van_ban,
                    entry.boi
                );
            }
        }
        Ok(registry)
    }

    /// The amendments of each article of `so_hieu`, by article number.
    pub fn for_document(&self, so_hieu: &str) -> BTreeMap<String, Vec<Amendment>> {
        let key = so_hieu_key(so_hieu);
        let mut by_article: BTreeMap<String, Vec<Amendment>> = BTreeMap::new();
        for entry in self
            .sua_doi
            .iter()
            .filter(|entry| so_hieu_key(&entry.van_ban) == key)
        {
            for article in &entry.dieu {
                by_article
                    .entry(article.to_lowercase())
                    .or_default()
                    .push(Amendment {
                        by: entry.boi.clone(),
                        effective: NaiveDate::parse_from_str(&entry.tu_ngay, "%Y-%m-%d").ok(),
                        detail: entry.noi_dung.clone(),
                    });
            }
        }
        by_article
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_refuse_incomplete_entries() {
        let expired_without_replacement: ValidityRegistry = toml::from_str(
            "[[van_ban]]\nso_hieu = \"1/2000/QH10\"\nten = \"Luật X\"\ntinh_trang = \"het_hieu_luc\"\ntu_ngay = \"2001-01-01\"\ncan_cu = \"Điều 9 Luật Y\"\nngay_kiem_tra = \"2026-12-05\"\n",
        )
        .expect("parses");
        assert!(expired_without_replacement.validate().is_err());
        let in_force: ValidityRegistry = toml::from_str(
            "[[van_ban]]\nso_hieu = \"1/2000/QH10\"\nten = \"Luật X\"\ntinh_trang = \"con_hieu_luc\"\nbi_thay_the_boi = [\"2/2001/QH10\"]\ntu_ngay = \"2001-01-01\"\ncan_cu = \"Điều 9 Luật Y\"\nngay_kiem_tra = \"2026-12-05\"\n",
        )
        .expect("parses");
        assert!(
            in_force.validate().is_err(),
            "the registry lists replaced documents only"
        );
    }

    #[test]
    fn amendments_are_grouped_by_article() {
        let registry: AmendmentRegistry = toml::from_str(
            "[[sua_doi]]\nvan_ban = \"168/2024/NĐ-CP\"\ndieu = [\"6\", \"7\"]\nboi = \"238/2026/NĐ-CP\"\ntu_ngay = \"2026-08-15\"\nnoi_dung = \"khoản 2 Điều 19: bổ sung cụm từ\"\n",
        )
        .expect("parses");
        let by_article = registry.for_document("168/2024/nđ-cp");
        assert_eq!(by_article.len(), 2);
        assert_eq!(by_article["7"][0].by, "238/2026/NĐ-CP");
        assert_eq!(
            by_article["7"][0].effective,
            NaiveDate::from_ymd_opt(2026, 8, 15)
        );
    }
}
