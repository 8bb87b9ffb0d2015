//! `prompts/platform.toml`: the situations that get an offer (disputes, legal aid, business), the
//! commands citizens type, and every sentence of the platform's chat flows. Loaded once at
//! start-up; a missing key or a sentence without a placeholder it needs stops the start, like
//! the answer's own `prompts/`.

use std::path::Path;

use serde::Deserialize;

use crate::text::{fold_case, lacks_diacritics, strip_diacritics, syllables};

pub const FILE: &str = "platform.toml";

#[derive(Debug, thiserror::Error)]
#[error("prompts/{FILE}: {0}")]
pub struct WordingError(String);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformWording {
    pub situations: Situations,
    pub commands: Commands,
    pub roles: Roles,
    pub buttons: Buttons,
    pub wording: Sentences,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Situations {
    pub dispute: Vec<String>,
    pub legal_aid: Vec<String>,
    pub business: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commands {
    pub cancel: Vec<String>,
    pub subscribe: Vec<String>,
    pub unsubscribe: Vec<String>,
    pub survey: Vec<String>,
    pub sme: Vec<String>,
    pub closing: Vec<String>,
    pub yes: Vec<String>,
    pub no: Vec<String>,
    pub skip: Vec<String>,
    pub confirm: Vec<String>,
    pub no_tax_code: Vec<String>,
    pub same_question: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    pub hoa_giai_vien: String,
    pub tu_phap_xa: String,
    pub tro_giup_phap_ly: String,
    pub so_tu_phap: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buttons {
    pub yes: String,
    pub no: String,
    pub cancel: String,
    pub skip: String,
    pub confirm: String,
    pub subscribe: String,
    pub unsubscribe: String,
    pub handoff: String,
    pub sme: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sentences {
    pub cancelled: String,
    pub thanks: String,
    pub news_subscribed: String,
    pub news_already: String,
    pub news_zalo_window: String,
    pub news_unsubscribed: String,
    pub news_not_subscribed: String,
    pub news_web: String,
    pub news_notice: String,
    pub handoff_ask_commune: String,
    pub handoff_commune_unknown: String,
    pub handoff_commune_choose: String,
    pub handoff_contacts: String,
    pub handoff_no_contacts: String,
    pub handoff_why_dispute: String,
    pub handoff_why_legal_aid: String,
    pub handoff_staff_push: String,
    pub handoff_staff_web: String,
    pub contact_no_phone: String,
    pub offer_dispute: String,
    pub offer_legal_aid: String,
    pub offer_sme: String,
    pub survey_offer: String,
    pub survey_declined: String,
    pub survey_none: String,
    pub survey_choice: String,
    pub survey_scale: String,
    pub survey_text: String,
    pub survey_invalid_number: String,
    pub survey_invalid_text: String,
    pub survey_done: String,
    pub survey_abandoned: String,
    pub sme_start: String,
    pub sme_ask_tax_code: String,
    pub sme_bad_tax_code: String,
    pub sme_ask_question: String,
    pub sme_ask_question_previous: String,
    pub sme_ask_contact: String,
    pub sme_bad_contact: String,
    pub sme_too_long: String,
    pub sme_confirm: String,
    pub sme_sent: String,
    pub sme_no_tax_code: String,
    pub staff_reply: String,
    pub sme_reply: String,
}

impl PlatformWording {
    pub fn load(prompts_dir: &Path) -> Result<PlatformWording, WordingError> {
        let path = prompts_dir.join(FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|error| WordingError(format!("cannot read {}: {error}", path.display())))?;
        PlatformWording::parse(&text)
    }

    pub fn parse(text: &str) -> Result<PlatformWording, WordingError> {
        let wording: PlatformWording =
            toml::from_str(text).map_err(|error| WordingError(error.to_string()))?;
        wording.check()?;
        Ok(wording)
    }

    /// Every sentence has the placeholders the code fills in.
    fn check(&self) -> Result<(), WordingError> {
        let w = &self.wording;
        let needs: [(&str, &str, &[&str]); 20] = [
            ("news_notice", &w.news_notice, &["title", "body"]),
            (
                "handoff_commune_unknown",
                &w.handoff_commune_unknown,
                &["commune"],
            ),
            (
                "handoff_commune_choose",
                &w.handoff_commune_choose,
                &["list"],
            ),
            (
                "handoff_contacts",
                &w.handoff_contacts,
                &["place", "contacts"],
            ),
            ("handoff_no_contacts", &w.handoff_no_contacts, &["commune"]),
            ("handoff_why_dispute", &w.handoff_why_dispute, &["citation"]),
            (
                "handoff_why_legal_aid",
                &w.handoff_why_legal_aid,
                &["citation"],
            ),
            ("offer_dispute", &w.offer_dispute, &["citation"]),
            ("offer_legal_aid", &w.offer_legal_aid, &["citation"]),
            ("offer_sme", &w.offer_sme, &["citation"]),
            ("survey_offer", &w.survey_offer, &["title", "count"]),
            (
                "survey_choice",
                &w.survey_choice,
                &["number", "count", "prompt", "options"],
            ),
            (
                "survey_scale",
                &w.survey_scale,
                &["number", "count", "prompt"],
            ),
            (
                "survey_text",
                &w.survey_text,
                &["number", "count", "prompt", "max"],
            ),
            ("survey_invalid_number", &w.survey_invalid_number, &["max"]),
            ("sme_start", &w.sme_start, &["citation"]),
            (
                "sme_ask_question_previous",
                &w.sme_ask_question_previous,
                &["question"],
            ),
            (
                "sme_confirm",
                &w.sme_confirm,
                &["company", "tax_code", "question", "contact"],
            ),
            ("sme_sent", &w.sme_sent, &["id", "contact"]),
            ("sme_reply", &w.sme_reply, &["id", "text"]),
        ];
        for (name, sentence, placeholders) in needs {
            for placeholder in placeholders {
                if !sentence.contains(&format!("{{{placeholder}}}")) {
                    return Err(WordingError(format!(
                        "wording.{name} lacks the placeholder {{{placeholder}}}"
                    )));
                }
            }
        }
        for (name, sentence, placeholder) in [
            ("survey_invalid_text", &w.survey_invalid_text, "max"),
            ("sme_too_long", &w.sme_too_long, "max"),
            ("staff_reply", &w.staff_reply, "text"),
        ] {
            if !sentence.contains(&format!("{{{placeholder}}}")) {
                return Err(WordingError(format!(
                    "wording.{name} lacks the placeholder {{{placeholder}}}"
                )));
            }
        }
        Ok(())
    }
}

/// Fills `{name}` placeholders in one pass over the template, so a value that itself contains
/// braces (a citizen's text) is never read as a placeholder.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let replaced = after.find('}').and_then(|end| {
            let name = &after[..end];
            values
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (end, *value))
        });
        match replaced {
            Some((end, value)) => {
                out.push_str(value);
                rest = &after[end + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A message as commands compare it: lowercase NFC, spaces collapsed, without trailing
/// punctuation or a polite "ạ"/"nhé".
pub fn command_text(text: &str) -> String {
    let words = syllables(text);
    let mut words: Vec<&str> = words.iter().map(String::as_str).collect();
    while matches!(words.last(), Some(&("ạ" | "a" | "nhé" | "nhe" | "nha"))) && words.len() > 1 {
        words.pop();
    }
    let joined = words.join(" ");
    // Keep a leading "/" of bot commands ("/subscribe").
    if text.trim_start().starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Whether the whole message is one of `phrases` (with diacritics when it has them, without
/// when it was typed without).
pub fn is_command(text: &str, phrases: &[String]) -> bool {
    let said = command_text(text);
    if said.is_empty() {
        return false;
    }
    let plain = lacks_diacritics(&said);
    phrases.iter().any(|phrase| {
        let phrase = command_text(&fold_case(phrase));
        if plain {
            strip_diacritics(&phrase) == said
        } else {
            phrase == said
        }
    })
}

/// The repository's own `prompts/platform.toml`, for tests.
#[cfg(test)]
pub fn repo_wording() -> PlatformWording {
    PlatformWording::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts"))
        .expect("prompts/platform.toml loads")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_wording_loads_and_a_missing_placeholder_is_refused() {
        let wording = repo_wording();
        assert!(wording.wording.news_notice.contains("hủy nhận tin"));
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("prompts")
                .join(FILE),
        )
        .unwrap();
        let broken = text.replace("{citation}). Gửi \\\"hỗ trợ", "). Gửi \\\"hỗ trợ");
        assert_ne!(broken, text, "the test edits the SME offer");
        let error = PlatformWording::parse(&broken).unwrap_err().to_string();
        assert!(error.contains("offer_sme"), "{error}");
    }

    #[test]
    fn placeholders_are_filled_once() {
        assert_eq!(
            fill("{a} và {b} {c}", &[("a", "{b}"), ("b", "hai")]),
            "{b} và hai {c}"
        );
        assert_eq!(fill("không có {", &[]), "không có {");
    }

    #[test]
    fn commands_with_or_without_diacritics() {
        let wording = repo_wording();
        let commands = &wording.commands;
        assert!(is_command("Đăng ký nhận tin", &commands.subscribe));
        assert!(is_command("dang ky nhan tin a", &commands.subscribe));
        assert!(is_command("  HỦY NHẬN TIN!  ", &commands.unsubscribe));
        assert!(is_command("/subscribe", &commands.subscribe));
        assert!(is_command("Cảm ơn ạ", &commands.closing));
        assert!(is_command("hủy", &commands.cancel));
        // "đúng" (right) is not "dừng" (stop), though both fold to "dung".
        assert!(!is_command("đúng", &commands.cancel));
        assert!(!is_command(
            "Đăng ký nhận tin thì có mất phí không?",
            &commands.subscribe
        ));
        assert!(!is_command("", &commands.yes));
    }
}
