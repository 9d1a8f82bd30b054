//! How the binary prints an error: its message followed by its causes.

/// `e`'s message, then each cause's, unless the message says it already
/// (`cannot open job.sql: No such file or directory`).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        source = cause.source();
    }
    message
}
