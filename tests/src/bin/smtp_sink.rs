//! `smtp-sink [ADDRESS]`: the tests' SMTP sink as a process, for trying Gatehouse's email by hand
//! and for `scripts/recovery-transcript.sh`. Listens on ADDRESS (default 127.0.0.1:2525) and
//! prints every message it receives as one JSON line on standard output: `envelope_from`,
//! `recipients`, `from`, `subject`, `text`, `html`.

use gatehouse_tests::smtp::SmtpSink;
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:2525".to_owned());
    let sink = SmtpSink::bind(&address).await?;
    eprintln!("smtp-sink: listening on 127.0.0.1:{}", sink.port());
    while let Some(mail) = sink.recv().await {
        let line = json!({
            "envelope_from": mail.envelope_from,
            "recipients": mail.recipients,
            "from": mail.from,
            "subject": mail.subject,
            "text": mail.text,
            "html": mail.html,
        });
        println!("{line}");
    }
    Ok(())
}
