//! Declines questions that are not about law, or that ask for help breaking it, before searching:
//! quoting an article in reply to "Mai trời có mưa không?" would be worse than saying no.

use super::prompts::{OutOfScopeCategory, SensitiveTopic};
use super::question::Question;

/// Most syllables a `*` in a pattern stands for.
const WILDCARD_SPAN: usize = 4;

/// Returns the first category whose pattern occurs in the question as whole syllables.
pub fn out_of_scope<'a>(
    question: &Question,
    categories: &'a [OutOfScopeCategory],
) -> Option<&'a OutOfScopeCategory> {
    first_matching(question, categories, |category| &category.patterns)
}

/// Returns the first sensitive topic the question touches.
pub fn sensitive_topic<'a>(
    question: &Question,
    topics: &'a [SensitiveTopic],
) -> Option<&'a SensitiveTopic> {
    first_matching(question, topics, |topic| &topic.patterns)
}

/// The first item one of whose patterns occurs in the question as whole syllables (also the
/// matcher of the platform's situations, `platform::classify`).
pub fn first_matching<'a, T>(
    question: &Question,
    items: &'a [T],
    patterns: impl Fn(&T) -> &Vec<String>,
) -> Option<&'a T> {
    items.iter().find(|item| {
        patterns(item).iter().any(|pattern| {
            let segments: Vec<Vec<String>> =
                pattern.split('*').map(|part| question.fold(part)).collect();
            matches_from(question.words(), &segments, None)
        })
    })
}

/// Whether `segments` occur in order in `words`, each gap (between segments) 1..=WILDCARD_SPAN
/// syllables long. `anchor` is where the previous segment ended (`None` for the first segment,
/// which may start anywhere).
fn matches_from(words: &[String], segments: &[Vec<String>], anchor: Option<usize>) -> bool {
    let Some((segment, rest)) = segments.split_first() else {
        return true;
    };
    if segment.is_empty() {
        return anchor.is_some() || rest.is_empty() || matches_from(words, rest, anchor);
    }
    let starts: Vec<usize> = match anchor {
        None => (0..words.len()).collect(),
        Some(end) => (end + 1..=end + WILDCARD_SPAN).collect(),
    };
    starts.into_iter().any(|start| {
        let end = start + segment.len();
        end <= words.len()
            && words[start..end] == segment[..]
            && matches_from(words, rest, Some(end))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::prompts::repo_prompts;

    #[test]
    fn sensitive_topics_are_found_with_or_without_diacritics() {
        let prompts = repo_prompts();
        let topic =
            |q: &str| sensitive_topic(&Question::new(q), &prompts.sensitive).map(|t| t.id.clone());
        assert_eq!(
            topic("Chồng tôi thường xuyên đánh đập tôi thì làm sao?").as_deref(),
            Some("bao_luc")
        );
        assert_eq!(
            topic("con toi bi bat tam giam thi gia dinh lam gi").as_deref(),
            Some("hinh_su")
        );
        assert_eq!(
            topic("Ly hôn thì ai được quyền nuôi con nhỏ?").as_deref(),
            Some("tre_em")
        );
        assert_eq!(topic("Thủ tục đăng ký kết hôn cần giấy tờ gì?"), None);
        // "tôi" stripped is "toi", which must not read as "tội".
        assert_eq!(topic("toi muon dang ky ket hon"), None);
    }

    fn category(question: &str) -> Option<String> {
        out_of_scope(&Question::new(question), &repo_prompts().out_of_scope).map(|c| c.id.clone())
    }

    #[test]
    fn declines_what_is_not_law() {
        assert_eq!(
            category("Mai trời có mưa không?").as_deref(),
            Some("thoi_tiet")
        );
        assert_eq!(
            category("mai troi co mua khong").as_deref(),
            Some("thoi_tiet")
        );
        // The sea before a boat trip (Lý Sơn): weather, not law.
        assert_eq!(
            category("Mai ra đảo biển có động không?").as_deref(),
            Some("thoi_tiet")
        );
        assert_eq!(
            category("Bị sốt thì uống thuốc gì?").as_deref(),
            Some("y_te")
        );
        assert_eq!(
            category("Làm giả sổ hộ khẩu ở đâu?").as_deref(),
            Some("lam_gia")
        );
        assert_eq!(
            category("Tôi muốn mua bằng đại học giả").as_deref(),
            Some("lam_gia")
        );
        assert_eq!(
            category("Chỉ tôi cách né phạt nồng độ cồn").as_deref(),
            Some("lach_luat")
        );
    }

    #[test]
    fn keeps_legal_questions_about_the_same_words() {
        for question in [
            "Nam nữ bao nhiêu tuổi thì được kết hôn?",
            "Trốn thuế bị xử lý như thế nào?",
            "Tội làm giả con dấu bị phạt bao nhiêu năm tù?",
            "thu tuc dang ky ket hon can giay to gi",
            "Bao lâu thì được cấp sổ đỏ?",
            "Mua bán hàng giả bị xử phạt thế nào?",
        ] {
            // Never refused as unlawful or not law: retrieval answers them.
            assert_eq!(category(question), None, "{question}");
        }
    }

    #[test]
    fn land_traffic_and_passports_are_answered_not_refused() {
        // These fields had no texts before the 2024 laws and the compendium were indexed; their
        // questions go to retrieval, while what no text settles still declines (below).
        for question in [
            "Bao lâu thì được cấp sổ đỏ?",
            "Vượt đèn đỏ bị phạt bao nhiêu?",
            "Làm hộ chiếu ở đâu?",
            "Doanh nghiệp nhỏ và vừa được hỗ trợ học phí đào tạo không?",
            "Ly hôn thì chia quyền sử dụng đất thế nào?",
        ] {
            assert_eq!(category(question), None, "{question}");
        }
        assert_eq!(
            category("Giá đất ở xã tôi là bao nhiêu?").as_deref(),
            Some("gia_dat_cu_the")
        );
    }
}
