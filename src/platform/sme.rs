//! The SME support request in the chat: four questions (company, tax code, question, contact),
//! a confirmation, then a row in the console's SME queue. What is checked here: a Vietnamese tax
//! code's shape and a contact one can call or write to.

use serde::{Deserialize, Serialize};

use super::directory::valid_phone;

/// Longest company name, in characters.
pub const MAX_COMPANY_CHARS: usize = 200;
/// Longest question, in characters.
pub const MAX_QUESTION_CHARS: usize = 1_000;
/// Longest contact, in characters.
pub const MAX_CONTACT_CHARS: usize = 200;

/// Where a request being filled in is: the flow's stored data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub step: Step,
    #[serde(default)]
    pub company: String,
    /// Empty when the enterprise has none yet.
    #[serde(default)]
    pub tax_code: String,
    #[serde(default)]
    pub question: String,
    #[serde(default)]
    pub contact: String,
    /// The question asked just before, which "như trên" reuses.
    #[serde(default)]
    pub previous: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    #[default]
    Company,
    TaxCode,
    Question,
    Contact,
    Confirm,
}

/// A tax code: 10 digits, or 10 digits, a dash and 3 digits (a dependent unit); spaces ignored.
/// The normalised code, or `None`.
pub fn tax_code(text: &str) -> Option<String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let (main, branch) = match compact.split_once('-') {
        Some((main, branch)) => (main, Some(branch)),
        None => (compact.as_str(), None),
    };
    let digits = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_digit());
    match branch {
        None if digits(main, 10) => Some(main.to_owned()),
        Some(branch) if digits(main, 10) && digits(branch, 3) => Some(format!("{main}-{branch}")),
        _ => None,
    }
}

/// A phone number (9 to 11 digits as people write them) or an e-mail address.
pub fn valid_contact(text: &str) -> bool {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_CONTACT_CHARS {
        return false;
    }
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let phone = valid_phone(text) && (9..=11).contains(&digits);
    let email = match text.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.chars().any(char::is_whitespace)
        }
        None => false,
    };
    phone || email
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tax_codes_and_contacts() {
        assert_eq!(tax_code("4300123456"), Some("4300123456".into()));
        assert_eq!(
            tax_code("4300 123 456 - 001"),
            Some("4300123456-001".into())
        );
        assert_eq!(tax_code("430012345"), None);
        assert_eq!(tax_code("4300123456-01"), None);
        assert_eq!(tax_code("MST 4300123456"), None);
        assert!(valid_contact("0912 345 678"));
        assert!(valid_contact("+84 912 345 678"));
        assert!(valid_contact("ketoan@congty.vn"));
        assert!(!valid_contact("gọi tôi"));
        assert!(!valid_contact("a@b"));
        assert!(!valid_contact("113"));
    }

    #[test]
    fn drafts_round_trip_through_the_flow_data() {
        let draft = Draft {
            step: Step::Contact,
            company: "Công ty TNHH Ví Dụ".into(),
            ..Draft::default()
        };
        let json = serde_json::to_string(&draft).unwrap();
        assert!(json.contains("\"contact\""));
        assert_eq!(serde_json::from_str::<Draft>(&json).unwrap(), draft);
    }
}
