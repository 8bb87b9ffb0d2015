//! The port through which the platform around the chatbot (`crate::platform`: handoffs, surveys,
//! SME requests, legal news) takes part in a conversation, without the dispatcher knowing any of
//! it. `serve` attaches one with [`super::dispatch::Dispatcher::set_hook`]; without one, every text
//! goes to the assistant as before.

use futures_util::future::BoxFuture;

use super::{ChannelKind, Reply};
use crate::db::StoredMessage;

pub trait ConversationHook: Send + Sync {
    /// A citizen's text before the assistant sees it: the platform's own reply (a command, the
    /// next step of a flow), [`Reply::Held`] when staff hold the conversation, or `None` to let
    /// the assistant answer.
    fn before<'a>(
        &'a self,
        message: &'a StoredMessage,
        text: &'a str,
    ) -> BoxFuture<'a, Option<Reply>>;

    /// The assistant's reply to `question`, with the platform's offers added (a person for a
    /// dispute, SME support for a business question).
    fn after<'a>(
        &'a self,
        message: &'a StoredMessage,
        question: &'a str,
        reply: Reply,
    ) -> BoxFuture<'a, Reply>;

    /// The greeting of a citizen who followed the OA or started the bot, when the platform has
    /// its own (with buttons); `None` for the plain greeting.
    fn greeting(&self, channel: ChannelKind) -> Option<Reply>;
}
