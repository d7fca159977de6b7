//! A real SMTP server for the tests and for the recovery transcript (`smtp-sink`): it listens on
//! 127.0.0.1, speaks enough SMTP for lettre (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; it
//! offers neither STARTTLS nor AUTH) and hands over every accepted message decoded as a mail
//! client would see it. Also the SMTP mailer pointed at such a server.

use std::{io, sync::Arc, time::Duration};

use gatehouse_domain::{Email, ports::Mailer};
use gatehouse_mail::{Delivery, Security, SmtpConfig, smtp_mailer};
use mail_parser::{MessageParser, MimeHeaders};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    sync::{Mutex, Semaphore, mpsc},
    task::JoinHandle,
};

/// How long a test waits for mail before it calls the mail lost.
const MAIL_DEADLINE: Duration = Duration::from_secs(10);

/// One message as the sink received and decoded it.
#[derive(Clone, Debug)]
pub struct Mail {
    /// `MAIL FROM`.
    pub envelope_from: String,
    /// Every `RCPT TO`.
    pub recipients: Vec<String>,
    /// The `From` header as `Name <address>`.
    pub from: String,
    pub subject: String,
    /// The `text/plain` part, decoded.
    pub text: String,
    /// The `text/html` part, decoded.
    pub html: String,
    /// Every part's content type, outermost first (`multipart/alternative`, …).
    pub content_types: Vec<String>,
}

impl Mail {
    /// The reset token in the HTML part's double-quoted `href="{frontend}/reset-password?token=…"`.
    ///
    /// # Panics
    /// When the HTML holds no such link.
    pub fn reset_token(&self, frontend: &str) -> String {
        let opening = format!("href=\"{frontend}/reset-password?token=");
        let start = self
            .html
            .find(&opening)
            .unwrap_or_else(|| panic!("no {opening}…\" link in the HTML part:\n{}", self.html))
            + opening.len();
        let length = self.html[start..]
            .find('"')
            .expect("the href's closing quote");
        self.html[start..start + length].to_owned()
    }
}

/// What one SMTP connection did, reported when it closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    /// Messages accepted (`DATA` completed).
    pub messages: usize,
}

/// A running SMTP sink; stops when dropped.
pub struct SmtpSink {
    port: u16,
    /// When set, each `DATA` is answered only once a permit is released here.
    hold: Option<Arc<Semaphore>>,
    mails: Mutex<mpsc::UnboundedReceiver<Mail>>,
    sessions: Mutex<mpsc::UnboundedReceiver<Session>>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    /// A sink on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        Self::bind("127.0.0.1:0")
            .await
            .expect("binding the SMTP sink")
    }

    /// A sink on `address`.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind(address: &str) -> io::Result<Self> {
        Self::listen(address, None).await
    }

    /// A sink on a free port that hands each message over at once but confirms it (`250` after
    /// `DATA`) only on [`SmtpSink::release`]: the sender's delivery stays in flight meanwhile.
    pub async fn start_holding() -> Self {
        Self::listen("127.0.0.1:0", Some(Arc::new(Semaphore::new(0))))
            .await
            .expect("binding the SMTP sink")
    }

    /// Lets one held message be confirmed.
    pub fn release(&self) {
        if let Some(hold) = &self.hold {
            hold.add_permits(1);
        }
    }

    async fn listen(address: &str, hold: Option<Arc<Semaphore>>) -> io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let port = listener.local_addr()?.port();
        let (mail_tx, mails) = mpsc::unbounded_channel();
        let (session_tx, sessions) = mpsc::unbounded_channel();
        let gate = hold.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (mail_tx, session_tx) = (mail_tx.clone(), session_tx.clone());
                let gate = gate.clone();
                tokio::spawn(async move {
                    let messages = converse(stream, &mail_tx, gate.as_deref())
                        .await
                        .unwrap_or_default();
                    let _ = session_tx.send(Session { messages });
                });
            }
        });
        Ok(Self {
            port,
            hold,
            mails: Mutex::new(mails),
            sessions: Mutex::new(sessions),
            task,
        })
    }

    /// The port the sink listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The next message, waiting as long as it takes; `None` once the sink has stopped.
    pub async fn recv(&self) -> Option<Mail> {
        self.mails.lock().await.recv().await
    }

    /// The next message, oldest first.
    ///
    /// # Panics
    /// When none arrives within ten seconds.
    pub async fn next_mail(&self) -> Mail {
        tokio::time::timeout(MAIL_DEADLINE, self.recv())
            .await
            .expect("a mail within 10 s")
            .expect("the sink is running")
    }

    /// The next SMTP connection to close.
    ///
    /// # Panics
    /// When none closes within ten seconds.
    pub async fn next_session(&self) -> Session {
        tokio::time::timeout(MAIL_DEADLINE, async {
            self.sessions.lock().await.recv().await
        })
        .await
        .expect("an SMTP session within 10 s")
        .expect("the sink is running")
    }

    /// Gatehouse's SMTP mailer, unencrypted, sending here.
    pub fn mailer(&self) -> Arc<dyn Mailer> {
        smtp_mailer_at(self.port, Security::Plain, Duration::from_secs(5))
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Gatehouse's SMTP mailer for a server on 127.0.0.1:`port`, sending as
/// `Gatehouse <noreply@example.com>`; two tries 50 ms apart, `timeout` per SMTP step.
pub fn smtp_mailer_at(port: u16, security: Security, timeout: Duration) -> Arc<dyn Mailer> {
    let config = SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security,
        ca: None,
        credentials: None,
        from_email: Email::parse("noreply@example.com").expect("valid sender"),
        from_name: "Gatehouse".into(),
    };
    let delivery = Delivery {
        capacity: 16,
        attempts: 2,
        first_backoff: Duration::from_millis(50),
        timeout,
    };
    let (mailer, _worker) = smtp_mailer(config, delivery).expect("SMTP mailer");
    Arc::new(mailer)
}

/// The envelope of the message being received.
#[derive(Default)]
struct Envelope {
    from: String,
    to: Vec<String>,
}

/// Serves one connection; the number of messages accepted.
async fn converse(
    stream: TcpStream,
    mails: &mpsc::UnboundedSender<Mail>,
    hold: Option<&Semaphore>,
) -> io::Result<usize> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    writer
        .write_all(b"220 gatehouse-test-sink ESMTP\r\n")
        .await?;
    let mut envelope = Envelope::default();
    let mut accepted = 0;
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&line);
        let command = line.trim_end();
        let verb = command
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-gatehouse-test-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" => b"250 gatehouse-test-sink\r\n",
            "MAIL" => {
                envelope = Envelope {
                    from: bracketed(command),
                    to: Vec::new(),
                };
                b"250 OK\r\n"
            }
            "RCPT" => {
                envelope.to.push(bracketed(command));
                b"250 OK\r\n"
            }
            "DATA" => {
                writer
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let data = read_data(&mut reader).await?;
                let _ = mails.send(decode(std::mem::take(&mut envelope), &data));
                if let Some(hold) = hold {
                    hold.acquire().await.map_err(io::Error::other)?.forget();
                }
                accepted += 1;
                b"250 OK queued\r\n"
            }
            "RSET" => {
                envelope = Envelope::default();
                b"250 OK\r\n"
            }
            "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                writer.write_all(b"221 Bye\r\n").await?;
                break;
            }
            _ => b"502 Command not implemented\r\n",
        };
        writer.write_all(reply).await?;
    }
    Ok(accepted)
}

/// The text between `<` and `>` in `MAIL FROM:<…>` or `RCPT TO:<…>`.
fn bracketed(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(address, _)| address.to_owned())
        .unwrap_or_default()
}

/// The message after `DATA`, up to the lone `.`, with dot-stuffing undone.
async fn read_data(reader: &mut (impl AsyncBufReadExt + Unpin)) -> io::Result<Vec<u8>> {
    let mut data = Vec::new();
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(data);
        }
        let line = line.strip_prefix(b".").unwrap_or(&line);
        data.extend_from_slice(line);
    }
}

/// Decodes the MIME message as a mail client would.
fn decode(envelope: Envelope, data: &[u8]) -> Mail {
    let message = MessageParser::default()
        .parse(data)
        .unwrap_or_else(|| panic!("unparsable message:\n{}", String::from_utf8_lossy(data)));
    let from = message
        .from()
        .and_then(|from| from.first())
        .map(|from| {
            format!(
                "{} <{}>",
                from.name().unwrap_or_default(),
                from.address().unwrap_or_default()
            )
        })
        .unwrap_or_default();
    Mail {
        envelope_from: envelope.from,
        recipients: envelope.to,
        from,
        subject: message.subject().unwrap_or_default().to_owned(),
        text: message.body_text(0).unwrap_or_default().into_owned(),
        html: message.body_html(0).unwrap_or_default().into_owned(),
        content_types: message
            .parts
            .iter()
            .filter_map(|part| part.content_type())
            .map(|kind| format!("{}/{}", kind.ctype(), kind.subtype().unwrap_or_default()))
            .collect(),
    }
}
