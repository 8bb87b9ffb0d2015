//! Logging set-up for every command: `log.filter` (or `RUST_LOG`), pretty or JSON lines on stderr.

use tracing_subscriber::filter::Directive;
use tracing_subscriber::EnvFilter;

use crate::config::Config;

/// Warnings of the embedded Qdrant engine that no operator can act on, silenced below `error`.
///
/// qdrant-edge is Qdrant's engine without Qdrant's `main`, which is what initialises two globals
/// the engine reads: its feature flags (`common::flags`) and the result of a start-up check that
/// several memory maps of one file are safe (`common::mmap::ops`). Both are in private modules
/// of qdrant-edge 0.7, so we cannot set them, and the engine then warns "Feature flags not
/// initialized!" and "MULTI_MMAP_SUPPORT_CHECK_RESULT should be initialized…" on the first
/// index it opens, and uses the defaults, which are what we want (Qdrant's own defaults;
/// multi-mmap is safe on Linux file systems). Every other warning of those two modules reports
/// something the operator set himself (`QDRANT_NO_MULTI_MMAP`) or cannot happen here, so the
/// modules are filtered as a whole; errors still show. Revisit on a qdrant-edge upgrade.
const ENGINE_NOISE: [&str; 2] = [
    "qdrant_edge::common::flags=error",
    "qdrant_edge::common::mmap::ops=error",
];

pub fn init(config: &Config) {
    let mut filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log.filter));
    for directive in ENGINE_NOISE {
        filter = filter.add_directive(directive.parse::<Directive>().expect("a valid directive"));
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
