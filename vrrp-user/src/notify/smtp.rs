//! `smtp_alert`: an email per transition to `notification_email` through `smtp_server`, as
//! keepalived sends it (a plain SMTP conversation: HELO, MAIL, RCPT, DATA, QUIT).

use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(Debug, Error)]
pub enum SmtpError {
    #[error("connecting to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("talking to the SMTP server: {0}")]
    Io(#[from] std::io::Error),
    #[error("the SMTP server answered {0:?}")]
    Refused(String),
    #[error("the SMTP server did not answer within {0:?}")]
    Timeout(Duration),
}

/// One alert to send.
#[derive(Clone, Debug)]
pub struct Alert {
    pub server: (String, u16),
    pub timeout: Duration,
    pub from: String,
    pub to: Vec<String>,
    /// The name HELO gives (`smtp_helo_name`, default the host name).
    pub helo: String,
    pub subject: String,
    pub body: String,
}

/// Sends the alert; the whole conversation is bounded by `timeout`.
pub async fn send(alert: &Alert) -> Result<(), SmtpError> {
    match tokio::time::timeout(alert.timeout, converse(alert)).await {
        Ok(result) => result,
        Err(_) => Err(SmtpError::Timeout(alert.timeout)),
    }
}

async fn converse(alert: &Alert) -> Result<(), SmtpError> {
    let address = format!("{}:{}", alert.server.0, alert.server.1);
    let stream = TcpStream::connect(&address)
        .await
        .map_err(|e| SmtpError::Connect(address.clone(), e))?;
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    expect(&mut reader, '2').await?;
    command(
        &mut writer,
        &mut reader,
        &format!("HELO {}", alert.helo),
        '2',
    )
    .await?;
    command(
        &mut writer,
        &mut reader,
        &format!("MAIL FROM:<{}>", alert.from),
        '2',
    )
    .await?;
    for recipient in &alert.to {
        command(
            &mut writer,
            &mut reader,
            &format!("RCPT TO:<{recipient}>"),
            '2',
        )
        .await?;
    }
    command(&mut writer, &mut reader, "DATA", '3').await?;
    let message = format!(
        "From: {}\r\nTo: {}\r\nSubject: {}\r\nX-Mailer: vrrpd\r\n\r\n{}\r\n.",
        alert.from,
        alert.to.join(", "),
        alert.subject,
        alert.body.replace("\n.", "\n..").replace('\n', "\r\n")
    );
    command(&mut writer, &mut reader, &message, '2').await?;
    command(&mut writer, &mut reader, "QUIT", '2').await?;
    Ok(())
}

async fn command(
    writer: &mut tokio::net::tcp::OwnedWriteHalf,
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    line: &str,
    success: char,
) -> Result<(), SmtpError> {
    writer.write_all(format!("{line}\r\n").as_bytes()).await?;
    expect(reader, success).await
}

/// Reads one (possibly multi-line) reply and checks its first digit.
async fn expect(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    success: char,
) -> Result<(), SmtpError> {
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Err(SmtpError::Refused("connection closed".into()));
        }
        if !line.starts_with(success) {
            return Err(SmtpError::Refused(line.trim().to_string()));
        }
        // "250-..." continues; "250 ..." ends the reply.
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(());
        }
    }
}
