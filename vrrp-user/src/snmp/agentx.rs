//! The AgentX protocol's PDUs (RFC 2741 sections 5 and 6), sans-IO: what a subagent sends
//! (Open, Register, Notify, Ping, Close, Response) encoded, and what a master agent sends
//! (Response, Get, GetNext, GetBulk, the Set phases, Close) decoded.
//!
//! Written here rather than taken from the `agentx` crate: that crate holds every octet string
//! as a Rust `String`, so it can neither send an IP or MAC address (binary octets) nor decode a
//! request carrying one, and the VRRP MIBs are full of both.
//!
//! vrrpd sends in network byte order (the NETWORK_BYTE_ORDER flag set) and decodes either order.

use thiserror::Error;

/// An object identifier, compared as SNMP orders them (sub-identifier by sub-identifier, a
/// prefix before its extensions): exactly `Vec`'s order.
pub type Oid = Vec<u32>;

pub const HEADER_LEN: usize = 20;
/// RFC 2741 6.1: h.flags.
pub const FLAG_INSTANCE_REGISTRATION: u8 = 0x01;
pub const FLAG_NON_DEFAULT_CONTEXT: u8 = 0x08;
pub const FLAG_NETWORK_BYTE_ORDER: u8 = 0x10;

/// RFC 2741 6.1: h.type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PduType {
    Open = 1,
    Close = 2,
    Register = 3,
    Get = 5,
    GetNext = 6,
    GetBulk = 7,
    TestSet = 8,
    CommitSet = 9,
    UndoSet = 10,
    CleanupSet = 11,
    Notify = 12,
    Ping = 13,
    Response = 18,
}

impl PduType {
    fn from_u8(value: u8) -> Option<PduType> {
        Some(match value {
            1 => PduType::Open,
            2 => PduType::Close,
            3 => PduType::Register,
            5 => PduType::Get,
            6 => PduType::GetNext,
            7 => PduType::GetBulk,
            8 => PduType::TestSet,
            9 => PduType::CommitSet,
            10 => PduType::UndoSet,
            11 => PduType::CleanupSet,
            12 => PduType::Notify,
            13 => PduType::Ping,
            18 => PduType::Response,
            _ => return None,
        })
    }
}

/// RFC 2741 6.2.16: res.error values vrrpd sends or reads.
pub mod error {
    pub const NO_ERROR: u16 = 0;
    /// SNMP's notWritable: the MIBs vrrpd serves are read-only.
    pub const NOT_WRITABLE: u16 = 17;
    pub const PARSE_ERROR: u16 = 266;
}

/// RFC 2741 6.2.2: the reasons of a Close.
pub mod close_reason {
    pub const SHUTDOWN: u8 = 5;
}

/// RFC 2741 5.4: the values of a VarBind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Integer(i32),
    OctetString(Vec<u8>),
    Null,
    ObjectIdentifier(Oid),
    IpAddress([u8; 4]),
    Counter32(u32),
    Gauge32(u32),
    TimeTicks(u32),
    Counter64(u64),
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
}

impl Value {
    pub fn string(text: &str) -> Value {
        Value::OctetString(text.as_bytes().to_vec())
    }

    fn tag(&self) -> u16 {
        match self {
            Value::Integer(_) => 2,
            Value::OctetString(_) => 4,
            Value::Null => 5,
            Value::ObjectIdentifier(_) => 6,
            Value::IpAddress(_) => 64,
            Value::Counter32(_) => 65,
            Value::Gauge32(_) => 66,
            Value::TimeTicks(_) => 67,
            Value::Counter64(_) => 70,
            Value::NoSuchObject => 128,
            Value::NoSuchInstance => 129,
            Value::EndOfMibView => 130,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarBind {
    pub name: Oid,
    pub value: Value,
}

/// RFC 2741 5.2: a SearchRange, `start` included in the search when `include` is set; an
/// empty `end` means no upper bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchRange {
    pub start: Oid,
    pub include: bool,
    pub end: Oid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub kind: PduType,
    pub flags: u8,
    pub session_id: u32,
    pub transaction_id: u32,
    pub packet_id: u32,
}

/// A PDU as received from the master agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    Response {
        header: Header,
        error: u16,
        index: u16,
        varbinds: Vec<VarBind>,
    },
    Get {
        header: Header,
        ranges: Vec<SearchRange>,
    },
    GetNext {
        header: Header,
        ranges: Vec<SearchRange>,
    },
    GetBulk {
        header: Header,
        non_repeaters: u16,
        max_repetitions: u16,
        ranges: Vec<SearchRange>,
    },
    /// TestSet, CommitSet, UndoSet, CleanupSet: answered, never applied.
    Set {
        header: Header,
    },
    Close {
        header: Header,
        reason: u8,
    },
    /// Any other PDU (a master never sends them to a subagent).
    Other {
        header: Header,
    },
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("truncated PDU")]
    Truncated,
    #[error("unsupported AgentX version {0}")]
    Version(u8),
    #[error("unknown PDU type {0}")]
    UnknownType(u8),
    #[error("unknown value type {0}")]
    UnknownValue(u16),
    #[error("payload length {0} is not a multiple of 4")]
    Misaligned(u32),
    #[error("object identifier of {0} sub-identifiers is too long")]
    OidTooLong(u8),
}

/// Writes fields in network byte order.
#[derive(Default)]
struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }
    fn u16(&mut self, value: u16) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }
    fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }
    fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    /// RFC 2741 5.1: n_subid, prefix, include, reserved, then the sub-identifiers, the
    /// internet prefix 1.3.6.1.N folded into `prefix`.
    fn oid(&mut self, oid: &[u32], include: bool) {
        let (prefix, rest) = match oid {
            [1, 3, 6, 1, n, rest @ ..] if *n > 0 && *n < 256 => (*n as u8, rest),
            _ => (0, oid),
        };
        // An OID longer than 128 sub-identifiers is not valid SNMP; vrrpd never builds one.
        let rest = &rest[..rest.len().min(128)];
        self.u8(rest.len() as u8);
        self.u8(prefix);
        self.u8(u8::from(include));
        self.u8(0);
        for sub in rest {
            self.u32(*sub);
        }
    }

    /// RFC 2741 5.3: length, octets, padding to a multiple of 4.
    fn octets(&mut self, octets: &[u8]) {
        self.u32(octets.len() as u32);
        self.bytes.extend_from_slice(octets);
        while !self.bytes.len().is_multiple_of(4) {
            self.u8(0);
        }
    }

    fn varbind(&mut self, varbind: &VarBind) {
        self.u16(varbind.value.tag());
        self.u16(0);
        self.oid(&varbind.name, false);
        match &varbind.value {
            Value::Integer(v) => self.u32(*v as u32),
            Value::OctetString(octets) => self.octets(octets),
            Value::IpAddress(octets) => self.octets(octets),
            Value::ObjectIdentifier(oid) => self.oid(oid, false),
            Value::Counter32(v) | Value::Gauge32(v) | Value::TimeTicks(v) => self.u32(*v),
            Value::Counter64(v) => self.u64(*v),
            Value::Null | Value::NoSuchObject | Value::NoSuchInstance | Value::EndOfMibView => {}
        }
    }
}

/// A whole PDU: the header with its payload length, then the payload.
fn pdu(kind: PduType, flags: u8, ids: (u32, u32, u32), payload: Writer) -> Vec<u8> {
    let mut out = Writer::default();
    out.u8(1);
    out.u8(kind as u8);
    out.u8(flags | FLAG_NETWORK_BYTE_ORDER);
    out.u8(0);
    out.u32(ids.0);
    out.u32(ids.1);
    out.u32(ids.2);
    out.u32(payload.bytes.len() as u32);
    out.bytes.extend_from_slice(&payload.bytes);
    out.bytes
}

/// RFC 2741 6.2.1: opens a session; `timeout` is how long the master waits for our answers.
pub fn open(packet_id: u32, timeout_seconds: u8, id: &[u32], description: &str) -> Vec<u8> {
    let mut payload = Writer::default();
    payload.u8(timeout_seconds);
    payload.bytes.extend_from_slice(&[0, 0, 0]);
    payload.oid(id, false);
    payload.octets(description.as_bytes());
    pdu(PduType::Open, 0, (0, 0, packet_id), payload)
}

/// RFC 2741 6.2.3: registers `subtree` at the default priority (127), no range.
pub fn register(session_id: u32, packet_id: u32, subtree: &[u32]) -> Vec<u8> {
    let mut payload = Writer::default();
    payload.u8(0);
    payload.u8(127);
    payload.u8(0);
    payload.u8(0);
    payload.oid(subtree, false);
    pdu(PduType::Register, 0, (session_id, 0, packet_id), payload)
}

/// RFC 2741 6.2.10: a notification; `varbinds` begin with snmpTrapOID.0 (the master adds
/// sysUpTime.0).
pub fn notify(session_id: u32, packet_id: u32, varbinds: &[VarBind]) -> Vec<u8> {
    let mut payload = Writer::default();
    for varbind in varbinds {
        payload.varbind(varbind);
    }
    pdu(PduType::Notify, 0, (session_id, 0, packet_id), payload)
}

/// RFC 2741 6.2.13.
pub fn ping(session_id: u32, packet_id: u32) -> Vec<u8> {
    pdu(
        PduType::Ping,
        0,
        (session_id, 0, packet_id),
        Writer::default(),
    )
}

/// RFC 2741 6.2.2.
pub fn close(session_id: u32, packet_id: u32, reason: u8) -> Vec<u8> {
    let mut payload = Writer::default();
    payload.u8(reason);
    payload.bytes.extend_from_slice(&[0, 0, 0]);
    pdu(PduType::Close, 0, (session_id, 0, packet_id), payload)
}

/// RFC 2741 6.2.16: the answer to the request whose header is `to`.
pub fn response(
    to: &Header,
    sys_uptime: u32,
    error: u16,
    index: u16,
    varbinds: &[VarBind],
) -> Vec<u8> {
    let mut payload = Writer::default();
    payload.u32(sys_uptime);
    payload.u16(error);
    payload.u16(index);
    for varbind in varbinds {
        payload.varbind(varbind);
    }
    pdu(
        PduType::Response,
        0,
        (to.session_id, to.transaction_id, to.packet_id),
        payload,
    )
}

/// The length of the PDU that `bytes` begins with, once its header has arrived.
pub fn pdu_length(bytes: &[u8]) -> Option<usize> {
    let header = bytes.get(..HEADER_LEN)?;
    let raw: [u8; 4] = header[16..20].try_into().ok()?;
    let payload = if header[2] & FLAG_NETWORK_BYTE_ORDER != 0 {
        u32::from_be_bytes(raw)
    } else {
        u32::from_le_bytes(raw)
    };
    Some(HEADER_LEN + payload as usize)
}

/// Reads fields in the PDU's byte order.
struct Reader<'a> {
    bytes: &'a [u8],
    big_endian: bool,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        let raw: [u8; 2] = self
            .take(2)?
            .try_into()
            .map_err(|_| DecodeError::Truncated)?;
        Ok(if self.big_endian {
            u16::from_be_bytes(raw)
        } else {
            u16::from_le_bytes(raw)
        })
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        let raw: [u8; 4] = self
            .take(4)?
            .try_into()
            .map_err(|_| DecodeError::Truncated)?;
        Ok(if self.big_endian {
            u32::from_be_bytes(raw)
        } else {
            u32::from_le_bytes(raw)
        })
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        let high = u64::from(self.u32()?);
        let low = u64::from(self.u32()?);
        // RFC 2741 5.4: a Counter64 is sent as one 64-bit integer in the PDU's byte order.
        Ok(if self.big_endian {
            high << 32 | low
        } else {
            low << 32 | high
        })
    }

    fn oid(&mut self) -> Result<(Oid, bool), DecodeError> {
        let count = self.u8()?;
        let prefix = self.u8()?;
        let include = self.u8()? != 0;
        self.u8()?;
        if count > 128 {
            return Err(DecodeError::OidTooLong(count));
        }
        let mut oid = Vec::with_capacity(usize::from(count) + 5);
        if prefix != 0 {
            oid.extend_from_slice(&[1, 3, 6, 1, u32::from(prefix)]);
        }
        for _ in 0..count {
            oid.push(self.u32()?);
        }
        Ok((oid, include))
    }

    fn octets(&mut self) -> Result<Vec<u8>, DecodeError> {
        let length = self.u32()? as usize;
        let padded = length.checked_add(3).ok_or(DecodeError::Truncated)? & !3;
        let bytes = self.take(padded)?;
        Ok(bytes[..length].to_vec())
    }

    fn search_ranges(&mut self) -> Result<Vec<SearchRange>, DecodeError> {
        let mut ranges = Vec::new();
        while !self.bytes.is_empty() {
            let (start, include) = self.oid()?;
            let (end, _) = self.oid()?;
            ranges.push(SearchRange {
                start,
                include,
                end,
            });
        }
        Ok(ranges)
    }

    fn varbind(&mut self) -> Result<VarBind, DecodeError> {
        let tag = self.u16()?;
        self.u16()?;
        let (name, _) = self.oid()?;
        let value = match tag {
            2 => Value::Integer(self.u32()? as i32),
            4 => Value::OctetString(self.octets()?),
            5 => Value::Null,
            6 => Value::ObjectIdentifier(self.oid()?.0),
            64 => {
                let octets = self.octets()?;
                let address: [u8; 4] = octets
                    .as_slice()
                    .try_into()
                    .map_err(|_| DecodeError::Truncated)?;
                Value::IpAddress(address)
            }
            65 => Value::Counter32(self.u32()?),
            66 => Value::Gauge32(self.u32()?),
            67 => Value::TimeTicks(self.u32()?),
            68 => Value::OctetString(self.octets()?),
            70 => Value::Counter64(self.u64()?),
            128 => Value::NoSuchObject,
            129 => Value::NoSuchInstance,
            130 => Value::EndOfMibView,
            other => return Err(DecodeError::UnknownValue(other)),
        };
        Ok(VarBind { name, value })
    }
}

/// Decodes one whole PDU (as [`pdu_length`] measured it).
pub fn decode(bytes: &[u8]) -> Result<Received, DecodeError> {
    if bytes.len() < HEADER_LEN {
        return Err(DecodeError::Truncated);
    }
    if bytes[0] != 1 {
        return Err(DecodeError::Version(bytes[0]));
    }
    let flags = bytes[2];
    let mut reader = Reader {
        bytes: &bytes[4..],
        big_endian: flags & FLAG_NETWORK_BYTE_ORDER != 0,
    };
    let session_id = reader.u32()?;
    let transaction_id = reader.u32()?;
    let packet_id = reader.u32()?;
    let length = reader.u32()?;
    if !length.is_multiple_of(4) {
        return Err(DecodeError::Misaligned(length));
    }
    let payload = reader.take(length as usize)?;
    let kind = PduType::from_u8(bytes[1]).ok_or(DecodeError::UnknownType(bytes[1]))?;
    let header = Header {
        kind,
        flags,
        session_id,
        transaction_id,
        packet_id,
    };
    let mut body = Reader {
        bytes: payload,
        big_endian: reader.big_endian,
    };
    // vrrpd registers in the default context only; a context, if any, is skipped.
    let has_context = flags & FLAG_NON_DEFAULT_CONTEXT != 0;
    let skip_context = |body: &mut Reader| -> Result<(), DecodeError> {
        if has_context {
            body.octets()?;
        }
        Ok(())
    };
    Ok(match kind {
        PduType::Response => {
            body.u32()?;
            let error = body.u16()?;
            let index = body.u16()?;
            let mut varbinds = Vec::new();
            while !body.bytes.is_empty() {
                varbinds.push(body.varbind()?);
            }
            Received::Response {
                header,
                error,
                index,
                varbinds,
            }
        }
        PduType::Get | PduType::GetNext => {
            skip_context(&mut body)?;
            let ranges = body.search_ranges()?;
            if kind == PduType::Get {
                Received::Get { header, ranges }
            } else {
                Received::GetNext { header, ranges }
            }
        }
        PduType::GetBulk => {
            skip_context(&mut body)?;
            let non_repeaters = body.u16()?;
            let max_repetitions = body.u16()?;
            let ranges = body.search_ranges()?;
            Received::GetBulk {
                header,
                non_repeaters,
                max_repetitions,
                ranges,
            }
        }
        PduType::TestSet | PduType::CommitSet | PduType::UndoSet | PduType::CleanupSet => {
            Received::Set { header }
        }
        PduType::Close => Received::Close {
            header,
            reason: body.u8()?,
        },
        _ => Received::Other { header },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(kind: PduType) -> Header {
        Header {
            kind,
            flags: FLAG_NETWORK_BYTE_ORDER,
            session_id: 7,
            transaction_id: 8,
            packet_id: 9,
        }
    }

    #[test]
    fn an_open_pdu_is_laid_out_as_rfc_2741_says() {
        let bytes = open(1, 5, &[1, 3, 6, 1, 4, 1, 9586], "vrrpd");
        assert_eq!(&bytes[..4], &[1, 1, FLAG_NETWORK_BYTE_ORDER, 0]);
        assert_eq!(pdu_length(&bytes), Some(bytes.len()));
        // timeout, reserved; the OID with the internet prefix folded: 2 sub-ids, prefix 4.
        assert_eq!(&bytes[20..28], &[5, 0, 0, 0, 2, 4, 0, 0]);
        assert_eq!(&bytes[28..36], &[0, 0, 0, 1, 0, 0, 0x25, 0x72]);
        // The description, padded to 8 octets.
        assert_eq!(
            &bytes[36..48],
            &[0, 0, 0, 5, b'v', b'r', b'r', b'p', b'd', 0, 0, 0]
        );
    }

    #[test]
    fn a_response_carries_binary_octet_strings_and_decodes_back() {
        let varbinds = vec![
            VarBind {
                name: vec![1, 3, 6, 1, 2, 1, 68, 1, 3, 1, 2, 24, 51],
                value: Value::OctetString(vec![0x00, 0x00, 0x5e, 0x00, 0x01, 0xc0]),
            },
            VarBind {
                name: vec![1, 3, 6, 1, 2, 1, 68, 1, 3, 1, 7, 24, 51],
                value: Value::IpAddress([192, 0, 2, 1]),
            },
            VarBind {
                name: vec![1, 3, 6, 1, 2, 1, 207, 1, 2, 1, 0],
                value: Value::Counter64(1 << 40 | 5),
            },
            VarBind {
                name: vec![1, 3, 6, 1, 4, 1, 9586, 100, 5, 2, 3, 1, 4, 1],
                value: Value::Integer(-5),
            },
            VarBind {
                name: vec![1, 2],
                value: Value::EndOfMibView,
            },
        ];
        let bytes = response(&header(PduType::Get), 100, 0, 0, &varbinds);
        match decode(&bytes) {
            Ok(Received::Response {
                header,
                error,
                varbinds: decoded,
                ..
            }) => {
                assert_eq!(header.packet_id, 9);
                assert_eq!(error, 0);
                assert_eq!(decoded, varbinds);
            }
            other => panic!("{other:?}"),
        }
    }

    /// A GetNext as net-snmp's snmpd sends it, in little-endian order (the flag clear).
    #[test]
    fn a_little_endian_getnext_decodes() {
        let mut bytes = vec![1, 6, 0, 0];
        for field in [3u32, 4, 5, 0] {
            bytes.extend_from_slice(&field.to_le_bytes());
        }
        let mut payload = Vec::new();
        // start 1.3.6.1.2.1.68 include=1, end null.
        payload.extend_from_slice(&[2, 2, 1, 0]);
        payload.extend_from_slice(&1u32.to_le_bytes());
        payload.extend_from_slice(&68u32.to_le_bytes());
        payload.extend_from_slice(&[0, 0, 0, 0]);
        bytes[16..20].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&payload);
        assert_eq!(
            decode(&bytes),
            Ok(Received::GetNext {
                header: Header {
                    kind: PduType::GetNext,
                    flags: 0,
                    session_id: 3,
                    transaction_id: 4,
                    packet_id: 5,
                },
                ranges: vec![SearchRange {
                    start: vec![1, 3, 6, 1, 2, 1, 68],
                    include: true,
                    end: vec![],
                }],
            })
        );
    }

    #[test]
    fn truncated_and_hostile_pdus_are_errors_not_panics() {
        let good = response(
            &header(PduType::Get),
            0,
            0,
            0,
            &[VarBind {
                name: vec![1, 3, 6, 1, 4, 1, 1],
                value: Value::string("x"),
            }],
        );
        for cut in 0..good.len() {
            let mut bytes = good[..cut].to_vec();
            if bytes.len() >= HEADER_LEN {
                let length = (bytes.len() - HEADER_LEN) as u32 & !3;
                bytes.truncate(HEADER_LEN + length as usize);
                bytes[16..20].copy_from_slice(&length.to_be_bytes());
            }
            let _ = decode(&bytes);
        }
        let mut huge = good.clone();
        // An octet string claiming 4 GiB.
        let at = HEADER_LEN + 8 + 4 + 4 + 2 * 4;
        huge[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode(&huge).is_err());
        let mut wrong_version = good;
        wrong_version[0] = 2;
        assert_eq!(decode(&wrong_version), Err(DecodeError::Version(2)));
    }
}
