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

/// Runs of digits (spaces, dots and dashes allowed inside, as people write phone numbers) of 9 or
/// more digits are phone or identity numbers; shorter ones (years, article numbers, amounts) stay.
fn mask_digit_runs(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !(chars[i].is_ascii_digit()
            || (chars[i] == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
        {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // Extend over digits and single separators between digits.
        let start = i;
        let mut end = i + 1;
        let mut digits = usize::from(chars[i].is_ascii_digit());
        while end < chars.len() {
            if chars[end].is_ascii_digit() {
                digits += 1;
                end += 1;
            } else if matches!(chars[end], ' ' | '.' | '-')
                && chars.get(end + 1).is_some_and(char::is_ascii_digit)
                && end > start
                && chars[end - 1].is_ascii_digit()
            {
                end += 1;
            } else {
                break;
            }
        }
        let run: String = chars[start..end].iter().collect();
        if digits >= 9 {
            let kind = if digits == 9 || digits == 12 {
                "[số giấy tờ/điện thoại]"
            } else {
                "[số điện thoại]"
            };
            out.push_str(kind);
        } else {
            out.push_str(&run);
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
}
