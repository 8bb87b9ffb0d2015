//! Enums with stable names: the name is what the database stores and what the wire and the
//! console show, the enum is what the code compares. [`named_enum!`] writes both directions once,
//! so a misspelt status is a compile error rather than a row that matches nothing.

/// Declares a fieldless enum with one stable name per variant, and `ALL`, `as_str`, `parse` and
/// `Display`:
///
/// ```ignore
/// named_enum! {
///     /// How a message ended.
///     pub enum MessageStatus {
///         Received => "received",
///         Answered => "answered",
///     }
/// }
/// assert_eq!(MessageStatus::parse("answered"), Some(MessageStatus::Answered));
/// ```
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident => $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$variant_meta])* $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The variant of a stable name; `None` for any other text.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use named_enum;

#[cfg(test)]
mod tests {
    named_enum! {
        /// A test enum.
        pub enum Colour {
            Red => "red",
            DarkBlue => "dark_blue",
        }
    }

    #[test]
    fn names_round_trip() {
        for colour in Colour::ALL {
            assert_eq!(Colour::parse(colour.as_str()), Some(*colour));
        }
        assert_eq!(Colour::DarkBlue.to_string(), "dark_blue");
        assert_eq!(Colour::parse("Red"), None);
    }
}
