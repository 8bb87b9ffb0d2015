//! What a question is about, beyond its law: a dispute between neighbours or in a family (a
//! grassroots mediator can help), a situation that may make the citizen eligible for State legal
//! aid, or an enterprise's business. Patterns from `prompts/platform.toml`, matched by the out-of-
//! scope guard's own matcher (`answer::scope::first_matching`): whole syllables, `*` for a few,
//! without diacritics when the question has none. This decides offers only; it never changes
//! what the assistant searches or quotes.

use super::wording::Situations;
use crate::answer::scope::first_matching;
use crate::answer::Question;

/// The situations a question touches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Situation {
    pub dispute: bool,
    pub legal_aid: bool,
    pub business: bool,
}

impl Situation {
    pub fn of(question: &str, situations: &Situations) -> Situation {
        let question = Question::new(question);
        let touches = |patterns: &Vec<String>| {
            first_matching(&question, std::slice::from_ref(patterns), |p| p).is_some()
        };
        Situation {
            dispute: touches(&situations.dispute),
            legal_aid: touches(&situations.legal_aid),
            business: touches(&situations.business),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::wording::repo_wording;

    fn situation(question: &str) -> Situation {
        Situation::of(question, &repo_wording().situations)
    }

    #[test]
    fn disputes_legal_aid_and_business_are_recognised() {
        assert!(situation("Hàng xóm xây tường lấn sang đất nhà tôi thì làm sao?").dispute);
        assert!(situation("hang xom xay tuong lan dat nha toi").dispute);
        assert!(situation("Anh em tôi tranh chấp chia đất thừa kế của bố mẹ").dispute);
        assert!(situation("Nhà tôi thuộc hộ nghèo, có được luật sư miễn phí không?").legal_aid);
        assert!(situation("Tôi là người khuyết tật, cần trợ giúp pháp lý").legal_aid);
        let business = situation("Doanh nghiệp nhỏ và vừa được hỗ trợ những gì?");
        assert!(business.business && !business.dispute);
        assert!(situation("Thủ tục thành lập công ty TNHH một thành viên?").business);
        assert!(situation("thu tuc dang ky ho kinh doanh").business);
    }

    #[test]
    fn ordinary_questions_touch_nothing() {
        for question in [
            "Nam nữ bao nhiêu tuổi thì được kết hôn?",
            "Thủ tục đăng ký khai sinh cần giấy tờ gì?",
            "Công ty nợ lương thì người lao động làm gì?",
            "toi muon dang ky ket hon",
        ] {
            assert_eq!(situation(question), Situation::default(), "{question}");
        }
    }
}
