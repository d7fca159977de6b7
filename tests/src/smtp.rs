//! A real SMTP server for the tests and for the recovery transcript (`smtp-sink`): it listens on
//! 127.0.0.1, speaks enough SMTP for lettre (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, and
//! when asked STARTTLS or implicit TLS and AUTH PLAIN/LOGIN, as a deployment's relay does) and
//! hands over every accepted message decoded as a mail client would see it, and a record of each
//! connection. Also the SMTP mailer pointed at such a server.

use std::{io, sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use gatehouse_domain::{Email, ports::Mailer};
use gatehouse_mail::{Delivery, Security, SmtpConfig, smtp_mailer};
use mail_parser::{MessageParser, MimeHeaders};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    sync::{Mutex, Semaphore, mpsc},
    task::JoinHandle,
};
use tokio_rustls::{TlsAcceptor, rustls::ServerConfig};

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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Session {
    /// Messages accepted (`DATA` completed).
    pub messages: usize,
    /// Every command received, in order (the verb only: an `AUTH` line's credentials are
    /// never kept).
    pub commands: Vec<Command>,
    /// Whether a TLS handshake completed.
    pub encrypted: bool,
    /// The user that logged in, if one did.
    pub authenticated: Option<String>,
}

/// One command line as the sink received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// Upper-cased, e.g. `EHLO`, `STARTTLS`, `AUTH`.
    pub verb: String,
    /// Whether it came over TLS.
    pub encrypted: bool,
}

impl Session {
    /// Whether `verb` was received at all.
    pub fn received(&self, verb: &str) -> bool {
        self.commands.iter().any(|command| command.verb == verb)
    }

    /// The verbs received, in order.
    pub fn verbs(&self) -> Vec<&str> {
        self.commands.iter().map(|c| c.verb.as_str()).collect()
    }
}

/// How a sink protects its connections.
#[derive(Clone, Default)]
pub enum SinkTls {
    /// Plain SMTP; STARTTLS is not offered.
    #[default]
    None,
    /// Offers STARTTLS, then presents this configuration's certificate.
    StartTls(Arc<ServerConfig>),
    /// TLS from the first byte (SMTPS).
    Implicit(Arc<ServerConfig>),
}

/// The one login a sink accepts. AUTH is offered before TLS too, as many relays do: a client
/// that would send credentials in clear gets the chance to.
#[derive(Clone, Debug)]
pub struct SinkLogin {
    pub user: String,
    pub password: String,
    /// Offered, in order: `PLAIN`, `LOGIN` or both.
    pub mechanisms: Vec<&'static str>,
}

/// How a sink is started.
#[derive(Clone, Default)]
pub struct SinkOptions {
    pub tls: SinkTls,
    /// `None`: no AUTH offered, none required.
    pub login: Option<SinkLogin>,
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

    /// A sink on a free port of 127.0.0.1 with TLS and a login as `options` say.
    pub async fn start_with(options: SinkOptions) -> Self {
        Self::listen("127.0.0.1:0", None, options)
            .await
            .expect("binding the SMTP sink")
    }

    /// A sink on `address`.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind(address: &str) -> io::Result<Self> {
        Self::listen(address, None, SinkOptions::default()).await
    }

    /// A sink on a free port that hands each message over at once but confirms it (`250` after
    /// `DATA`) only on [`SmtpSink::release`]: the sender's delivery stays in flight meanwhile.
    pub async fn start_holding() -> Self {
        Self::listen(
            "127.0.0.1:0",
            Some(Arc::new(Semaphore::new(0))),
            SinkOptions::default(),
        )
        .await
        .expect("binding the SMTP sink")
    }

    /// Lets one held message be confirmed.
    pub fn release(&self) {
        if let Some(hold) = &self.hold {
            hold.add_permits(1);
        }
    }

    async fn listen(
        address: &str,
        hold: Option<Arc<Semaphore>>,
        options: SinkOptions,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let port = listener.local_addr()?.port();
        let (mail_tx, mails) = mpsc::unbounded_channel();
        let (session_tx, sessions) = mpsc::unbounded_channel();
        let gate = hold.clone();
        let options = Arc::new(options);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (mail_tx, session_tx) = (mail_tx.clone(), session_tx.clone());
                let (gate, options) = (gate.clone(), options.clone());
                tokio::spawn(async move {
                    let mut conversation = Conversation {
                        options: &options,
                        mails: &mail_tx,
                        hold: gate.as_deref(),
                        session: Session::default(),
                    };
                    // A failed handshake or a dropped connection ends the record there.
                    let _ = conversation.run(stream).await;
                    let _ = session_tx.send(conversation.session);
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

/// Whatever a connection runs over: TCP, then maybe TLS on top.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

type Connection = BufReader<Box<dyn Stream>>;

/// One connection being served.
struct Conversation<'a> {
    options: &'a SinkOptions,
    mails: &'a mpsc::UnboundedSender<Mail>,
    /// When set, each `DATA` is confirmed only once a permit is released here.
    hold: Option<&'a Semaphore>,
    session: Session,
}

async fn reply(connection: &mut Connection, text: &str) -> io::Result<()> {
    connection.write_all(text.as_bytes()).await?;
    // TLS buffers what is written until flushed.
    connection.flush().await
}

/// The next line, without its line ending; `None` at the end of the stream.
async fn read_line(connection: &mut Connection) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    if connection.read_until(b'\n', &mut line).await? == 0 {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&line).trim_end().to_owned()))
}

/// `text` from a base64 line, or empty when it is not base64 of UTF-8.
fn unbase64(text: &str) -> String {
    STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_default()
}

async fn handshake(stream: Box<dyn Stream>, config: &Arc<ServerConfig>) -> io::Result<Connection> {
    let tls = TlsAcceptor::from(config.clone()).accept(stream).await?;
    Ok(BufReader::new(Box::new(tls)))
}

impl Conversation<'_> {
    /// Serves one connection, recording it in `self.session`.
    async fn run(&mut self, stream: TcpStream) -> io::Result<()> {
        let mut connection: Connection = BufReader::new(Box::new(stream));
        if let SinkTls::Implicit(config) = &self.options.tls {
            connection = handshake(connection.into_inner(), config).await?;
            self.session.encrypted = true;
        }
        reply(&mut connection, "220 gatehouse-test-sink ESMTP\r\n").await?;
        let mut envelope = Envelope::default();
        while let Some(command) = read_line(&mut connection).await? {
            let (verb, argument) = command.split_once(' ').unwrap_or((&command, ""));
            let verb = verb.to_ascii_uppercase();
            self.session.commands.push(Command {
                verb: verb.clone(),
                encrypted: self.session.encrypted,
            });
            let answer = match verb.as_str() {
                "EHLO" => self.ehlo(),
                "HELO" => "250 gatehouse-test-sink\r\n".to_owned(),
                "STARTTLS" => match &self.options.tls {
                    SinkTls::StartTls(config) if !self.session.encrypted => {
                        reply(&mut connection, "220 2.0.0 Ready to start TLS\r\n").await?;
                        // Whatever was sent after STARTTLS in clear is dropped (RFC 3207 §5).
                        connection = handshake(connection.into_inner(), config).await?;
                        self.session.encrypted = true;
                        envelope = Envelope::default();
                        continue;
                    }
                    _ => "502 5.5.1 STARTTLS not offered\r\n".to_owned(),
                },
                "AUTH" => self.authenticate(&mut connection, argument).await?,
                "MAIL" if self.options.login.is_some() && self.session.authenticated.is_none() => {
                    "530 5.7.0 Authentication required\r\n".to_owned()
                }
                "MAIL" => {
                    envelope = Envelope {
                        from: bracketed(&command),
                        to: Vec::new(),
                    };
                    "250 OK\r\n".to_owned()
                }
                "RCPT" => {
                    envelope.to.push(bracketed(&command));
                    "250 OK\r\n".to_owned()
                }
                "DATA" => {
                    reply(&mut connection, "354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                    let data = read_data(&mut connection).await?;
                    let _ = self
                        .mails
                        .send(decode(std::mem::take(&mut envelope), &data));
                    if let Some(hold) = self.hold {
                        hold.acquire().await.map_err(io::Error::other)?.forget();
                    }
                    self.session.messages += 1;
                    "250 OK queued\r\n".to_owned()
                }
                "RSET" => {
                    envelope = Envelope::default();
                    "250 OK\r\n".to_owned()
                }
                "NOOP" => "250 OK\r\n".to_owned(),
                "QUIT" => {
                    reply(&mut connection, "221 Bye\r\n").await?;
                    break;
                }
                _ => "502 Command not implemented\r\n".to_owned(),
            };
            reply(&mut connection, &answer).await?;
        }
        Ok(())
    }

    /// The EHLO answer: STARTTLS until the connection is encrypted, AUTH whenever a login is set.
    fn ehlo(&self) -> String {
        let mut lines = vec![
            "gatehouse-test-sink".to_owned(),
            "8BITMIME".to_owned(),
            "SMTPUTF8".to_owned(),
        ];
        if matches!(self.options.tls, SinkTls::StartTls(_)) && !self.session.encrypted {
            lines.push("STARTTLS".to_owned());
        }
        if let Some(login) = &self.options.login {
            lines.push(format!("AUTH {}", login.mechanisms.join(" ")));
        }
        let last = lines.len() - 1;
        lines
            .iter()
            .enumerate()
            .map(|(i, line)| format!("250{}{line}\r\n", if i == last { ' ' } else { '-' }))
            .collect()
    }

    /// Runs an `AUTH` exchange (RFC 4954; PLAIN with or without an initial response, LOGIN)
    /// and returns the final answer.
    async fn authenticate(
        &mut self,
        connection: &mut Connection,
        argument: &str,
    ) -> io::Result<String> {
        let Some(login) = &self.options.login else {
            return Ok("502 5.5.1 AUTH not offered\r\n".to_owned());
        };
        let mut words = argument.split_whitespace();
        let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
        if !login.mechanisms.contains(&mechanism.as_str()) {
            return Ok("504 5.5.4 Unrecognized authentication type\r\n".to_owned());
        }
        let (user, password) = if mechanism == "PLAIN" {
            let response = match words.next() {
                Some(initial) => initial.to_owned(),
                None => {
                    reply(connection, "334 \r\n").await?;
                    read_line(connection).await?.unwrap_or_default()
                }
            };
            // authorization identity NUL user NUL password
            let decoded = unbase64(&response);
            let mut parts = decoded.split('\0').skip(1);
            (
                parts.next().unwrap_or_default().to_owned(),
                parts.next().unwrap_or_default().to_owned(),
            )
        } else {
            reply(connection, "334 VXNlcm5hbWU6\r\n").await?;
            let user = unbase64(&read_line(connection).await?.unwrap_or_default());
            reply(connection, "334 UGFzc3dvcmQ6\r\n").await?;
            let password = unbase64(&read_line(connection).await?.unwrap_or_default());
            (user, password)
        };
        if user == login.user && password == login.password {
            self.session.authenticated = Some(user);
            Ok("235 2.7.0 Authentication successful\r\n".to_owned())
        } else {
            Ok("535 5.7.8 Authentication credentials invalid\r\n".to_owned())
        }
    }
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
async fn read_data(reader: &mut Connection) -> io::Result<Vec<u8>> {
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
