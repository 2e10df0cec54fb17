//! `nodebgp decode`: BGP messages from hex lines, pcap/pcapng captures or MRT
//! dumps, printed as one JSON object per message in input order (or, with
//! `--summary`, as totals). A malformed message is reported and decoding goes
//! on with the next one.

pub(crate) mod json;
mod session;
mod summary;
mod text;

use std::io::{BufRead, BufWriter, Read, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use bgp_capture::{MrtRecord, Origin};
use bgp_wire::{
    decode_nlri_field, decode_path_attributes, Afi, CodecContext, DecodeError, Family, Message,
    NlriList, Safi,
};
use bytes::Bytes;
use serde_json::{json, Map, Value};

use session::SessionTracker;
use summary::Summary;

/// Largest input file read whole (captures and dumps), and largest
/// decompressed MRT dump: beyond this, split the file first.
const MAX_INPUT: usize = 4 << 30;

/// Arguments of `nodebgp decode`.
#[derive(Debug, clap::Args)]
pub(crate) struct DecodeArgs {
    /// File of hex messages, one per line (whitespace and a leading 0x are
    /// ignored, blank lines and lines starting with # skipped); `-` or nothing
    /// reads standard input.
    #[arg(conflicts_with_all = ["pcap", "mrt"])]
    input: Option<PathBuf>,
    /// Read BGP messages from a pcap or pcapng capture (TCP reassembled per direction).
    #[arg(long, value_name = "FILE", conflicts_with = "mrt")]
    pcap: Option<PathBuf>,
    /// TCP port that carries BGP in the capture.
    #[arg(long, default_value_t = 179, requires = "pcap")]
    port: u16,
    /// Read BGP messages from an MRT dump (BGP4MP, TABLE_DUMP_V2, TABLE_DUMP; gzip accepted).
    #[arg(long, value_name = "FILE")]
    mrt: Option<PathBuf>,
    /// AS numbers in AS_PATH and AGGREGATOR are two octets (no RFC 6793
    /// capability); for captures, only until OPENs say otherwise.
    #[arg(long)]
    no_asn4: bool,
    /// NLRI carry ADD-PATH path identifiers (RFC 7911) for IPv4 and IPv6 unicast.
    #[arg(long)]
    add_path: bool,
    /// Accept messages up to 65535 octets (RFC 8654 extended messages).
    #[arg(long)]
    extended_message: bool,
    /// Print only totals: messages by type, prefixes per family, errors by code.
    #[arg(long)]
    summary: bool,
}

/// Where decoded objects go: printed one per line, or counted.
struct Output {
    writer: BufWriter<std::io::StdoutLock<'static>>,
    summary: Option<Summary>,
    index: u64,
}

impl Output {
    /// Prints one object. Both are built only when printed: `--summary`
    /// counts without building any JSON.
    fn emit(
        &mut self,
        object: impl FnOnce() -> Map<String, Value>,
        source: impl FnOnce() -> Option<Value>,
    ) -> Result<()> {
        self.index += 1;
        if self.summary.is_some() {
            return Ok(());
        }
        let (object, source) = (object(), source());
        // Written field by field: building a second, ordered map per
        // message cost a fifth of the run.
        use serde::ser::{SerializeMap as _, Serializer as _};
        let mut serializer = serde_json::Serializer::new(&mut self.writer);
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("index", &self.index)?;
        if let Some(source) = &source {
            map.serialize_entry("source", source)?;
        }
        for (key, value) in &object {
            map.serialize_entry(key, value)?;
        }
        map.end()?;
        self.writer.write_all(b"\n")?;
        Ok(())
    }

    /// Decodes one message and emits its object; returns it when it decoded,
    /// so that callers can learn from OPENs.
    fn message(
        &mut self,
        frame: &Bytes,
        context: &CodecContext,
        source: impl FnOnce() -> Option<Value>,
    ) -> Result<Option<Message>> {
        self.message_with_guess(frame, context, false, source)
    }

    /// As [`Output::message`]; when `guessed` the ADD-PATH part of the
    /// context is inferred from one side's OPEN only, and the other reading
    /// is tried when the first one fails (as Wireshark does).
    fn message_with_guess(
        &mut self,
        frame: &Bytes,
        context: &CodecContext,
        guessed: bool,
        source: impl FnOnce() -> Option<Value>,
    ) -> Result<Option<Message>> {
        let mut inferred_add_path = None;
        let mut decoded = Message::decode(frame, context);
        let clean = |result: &Result<bgp_wire::Received, DecodeError>| {
            result
                .as_ref()
                .is_ok_and(|received| received.errors.is_empty())
        };
        if guessed && !clean(&decoded) {
            let mut other = context.clone();
            other.add_path = if context.add_path.is_empty() {
                vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]
            } else {
                Vec::new()
            };
            let second = Message::decode(frame, &other);
            if clean(&second) {
                decoded = second;
                inferred_add_path = Some(!other.add_path.is_empty());
            }
        }
        let source = || {
            let mut source = source();
            if let (Some(add_path), Some(Value::Object(source))) = (inferred_add_path, &mut source)
            {
                source.insert("add_path".into(), json!(add_path));
                source.insert("add_path_inferred".into(), json!(true));
            }
            source
        };
        match decoded {
            Ok(received) => {
                if let Some(summary) = &mut self.summary {
                    summary.add_received(&received);
                }
                self.emit(|| json::received(&received, frame.len()), source)?;
                Ok(Some(received.message))
            }
            Err(error) => {
                let message_type = header_type(&error, frame);
                if let Some(summary) = &mut self.summary {
                    summary.add_failed(&error, message_type);
                }
                self.emit(|| json::failed(&error, message_type, frame.len()), source)?;
                Ok(None)
            }
        }
    }

    fn input_error(&mut self, reason: String, source: Option<Value>) -> Result<()> {
        if let Some(summary) = &mut self.summary {
            summary.add_input_error();
        }
        let object = || {
            let mut object = Map::new();
            object.insert("type".into(), Value::Null);
            object.insert("input_error".into(), json!(reason));
            object
        };
        self.emit(object, || source)
    }

    fn finish(mut self) -> Result<()> {
        if let Some(summary) = &self.summary {
            serde_json::to_writer_pretty(&mut self.writer, &summary.to_json())?;
            self.writer.write_all(b"\n")?;
        }
        self.writer.flush()?;
        Ok(())
    }
}

/// The header's message type, when the error lies past the header.
fn header_type(error: &DecodeError, frame: &[u8]) -> Option<&'static str> {
    if matches!(error, DecodeError::Header(_)) {
        return None;
    }
    frame
        .get(18)
        .and_then(|&code| bgp_wire::MessageType::from_code(code))
        .map(bgp_wire::MessageType::as_str)
}

pub(crate) fn run(arguments: &DecodeArgs) -> Result<()> {
    let defaults = CodecContext {
        four_octet_asn: !arguments.no_asn4,
        add_path: if arguments.add_path {
            vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]
        } else {
            Vec::new()
        },
        extended_message: arguments.extended_message,
        ..CodecContext::default()
    };
    let mut output = Output {
        writer: BufWriter::new(std::io::stdout().lock()),
        summary: arguments.summary.then(Summary::default),
        index: 0,
    };
    let result = if let Some(path) = &arguments.pcap {
        decode_capture(path, arguments.port, defaults, &mut output)
    } else if let Some(path) = &arguments.mrt {
        decode_mrt(path, defaults, &mut output)
    } else {
        decode_hex_lines(arguments.input.as_deref(), &defaults, &mut output)
    };
    match result.and_then(|()| output.finish()) {
        // `nodebgp decode … | head`: the reader has seen enough.
        Err(error) if is_broken_pipe(&error) => Ok(()),
        other => other,
    }
}

/// Whether writing failed because standard output's reader went away.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        let kind = cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| {
                cause
                    .downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            });
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}

fn decode_hex_lines(
    path: Option<&Path>,
    context: &CodecContext,
    output: &mut Output,
) -> Result<()> {
    let reader: Box<dyn BufRead> = match path {
        None => Box::new(std::io::stdin().lock()),
        Some(path) if path == Path::new("-") => Box::new(std::io::stdin().lock()),
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
        )),
    };
    for (number, line) in reader.lines().enumerate() {
        let line = line.context("cannot read input")?;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let source = || Some(json!({"line": number + 1}));
        let digits: String = trimmed
            .strip_prefix("0x")
            .or_else(|| trimmed.strip_prefix("0X"))
            .unwrap_or(trimmed)
            .chars()
            .filter(|character| !character.is_whitespace())
            .collect();
        match hex::decode(&digits) {
            Ok(octets) => {
                output.message(&Bytes::from(octets), context, source)?;
            }
            Err(error) => output.input_error(format!("not hexadecimal: {error}"), source())?,
        }
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut data = Vec::new();
    Read::by_ref(&mut file)
        .take(MAX_INPUT as u64 + 1)
        .read_to_end(&mut data)
        .with_context(|| format!("cannot read {}", path.display()))?;
    anyhow::ensure!(
        data.len() <= MAX_INPUT,
        "{} is larger than {MAX_INPUT} octets",
        path.display()
    );
    Ok(data)
}

fn decode_capture(
    path: &Path,
    port: u16,
    defaults: CodecContext,
    output: &mut Output,
) -> Result<()> {
    let data = read_file(path)?;
    let captured = bgp_capture::messages_from_capture(&data, port)
        .with_context(|| format!("cannot read capture {}", path.display()))?;
    for problem in &captured.problems {
        eprintln!("nodebgp decode: {}: {problem}", path.display());
    }
    let mut sessions = SessionTracker::new(defaults);
    for message in captured.messages {
        let Origin::Pcap { flow, frame, .. } = message.origin else {
            continue;
        };
        let source = || {
            Some(json!({
                "from": flow.source.to_string(),
                "to": flow.destination.to_string(),
                "frame": frame,
            }))
        };
        let context = sessions.context(&flow.source, &flow.destination);
        let guessed = sessions.is_guess(&flow.source, &flow.destination);
        let bytes = Bytes::from(message.bytes);
        if let Some(Message::Open(open)) =
            output.message_with_guess(&bytes, &context, guessed, source)?
        {
            sessions.record_open(&flow.source, &open);
        }
    }
    Ok(())
}

/// Reads the dump record by record (gzip inflated on the way), so memory
/// stays that of one record whatever the size of the dump.
fn decode_mrt(path: &Path, defaults: CodecContext, output: &mut Output) -> Result<()> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader = bgp_capture::inflate_if_gzip(std::io::BufReader::with_capacity(1 << 16, file))
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut sessions: SessionTracker<IpAddr> = SessionTracker::new(defaults.clone());
    for record in bgp_capture::mrt_stream(reader) {
        let record = match record {
            Ok(record) => record,
            // A first record that cannot be read: not an MRT dump at all
            // (a pcap given to --mrt, a text file).
            Err(error) if error.record() == 1 => {
                anyhow::bail!(
                    "{} is not an MRT dump (or is damaged from its first record): {error}",
                    path.display()
                )
            }
            Err(error) => {
                output.input_error(
                    error.to_string(),
                    Some(json!({"mrt_record": error.record()})),
                )?;
                continue;
            }
        };
        match record {
            MrtRecord::Message(message) => {
                let Origin::Mrt(header) = &message.origin else {
                    continue;
                };
                // Subtypes 6, 7, 10 and 11 record what the local side sent (RFC 6396 §4.4, RFC 8050 §3).
                let local = matches!(header.subtype, 6 | 7 | 10 | 11);
                let (sender, receiver) = if local {
                    (header.local_address, header.peer_address)
                } else {
                    (header.peer_address, header.local_address)
                };
                let guessed = !header.add_path && sessions.is_guess(&sender, &receiver);
                let mut context = sessions.context(&sender, &receiver);
                // RFC 6396 §4.4.3: the AS4 subtypes carry four-octet AS numbers.
                context.four_octet_asn = header.four_octet_asn;
                if header.add_path {
                    context.add_path = vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST];
                }
                let source = || {
                    Some(json!({
                        "mrt_record": header.record,
                        "timestamp": header.timestamp,
                        "peer_address": text::address_text(header.peer_address),
                        "peer_as": header.peer_as,
                        "local_address": text::address_text(header.local_address),
                        "local_as": header.local_as,
                        "direction": if local { "sent" } else { "received" },
                    }))
                };
                let bytes = Bytes::from(message.bytes);
                if let Some(Message::Open(open)) =
                    output.message_with_guess(&bytes, &context, guessed, source)?
                {
                    sessions.record_open(&sender, &open);
                }
            }
            MrtRecord::RibEntries {
                record,
                timestamp,
                subtype,
                afi,
                safi,
                prefix,
                entries,
                ..
            } => {
                let family = Family::new(Afi(afi), Safi(safi));
                let nlri = decode_nlri_field(&prefix, family, false);
                let prefix_text = match nlri.as_deref() {
                    Some([one]) => json!(one.prefix.to_string()),
                    _ => json!({"opaque": hex::encode(&prefix)}),
                };
                for entry in entries {
                    // RFC 6396 §4.3.4: RIB entries always use four-octet AS numbers.
                    let context = CodecContext {
                        four_octet_asn: true,
                        table_dump_family: Some(family),
                        ..CodecContext::default()
                    };
                    let (attributes, errors) =
                        decode_path_attributes(&Bytes::from(entry.attributes), &context);
                    let object = || {
                        let mut object = rib_object(&attributes, &errors);
                        object.insert("type".into(), json!("TABLE_DUMP_V2"));
                        object.insert("family".into(), json!(family.to_string()));
                        object.insert("prefix".into(), prefix_text.clone());
                        if let Some(path_id) = entry.path_id {
                            object.insert("path_id".into(), json!(path_id));
                        }
                        object
                    };
                    let source = || {
                        Some(json!({
                            "mrt_record": record,
                            "timestamp": timestamp,
                            "subtype": subtype,
                            "peer_index": entry.peer_index,
                            "originated": entry.originated_time,
                        }))
                    };
                    output.emit(object, source)?;
                }
            }
            MrtRecord::TableDump {
                record,
                timestamp,
                afi,
                prefix,
                prefix_length,
                peer_address,
                peer_as,
                attributes,
            } => {
                let context = CodecContext {
                    four_octet_asn: false,
                    ..CodecContext::default()
                };
                let (decoded, errors) = decode_path_attributes(&Bytes::from(attributes), &context);
                let object = || {
                    let mut object = rib_object(&decoded, &errors);
                    object.insert("type".into(), json!("TABLE_DUMP"));
                    object.insert(
                        "family".into(),
                        json!(Family::new(Afi(afi), Safi::UNICAST).to_string()),
                    );
                    object.insert("prefix".into(), json!(format!("{prefix}/{prefix_length}")));
                    object
                };
                let source = || {
                    Some(json!({
                        "mrt_record": record,
                        "timestamp": timestamp,
                        "peer_address": peer_address.to_string(),
                        "peer_as": peer_as,
                    }))
                };
                output.emit(object, source)?;
            }
            MrtRecord::StateChange { .. }
            | MrtRecord::PeerIndexTable { .. }
            | MrtRecord::Other { .. } => {}
        }
    }
    Ok(())
}

/// The object for a RIB entry: its attributes the way an UPDATE shows them.
fn rib_object(
    attributes: &[bgp_wire::PathAttribute],
    errors: &[bgp_wire::AttributeError],
) -> Map<String, Value> {
    let update = bgp_wire::Update {
        withdrawn: NlriList::new(),
        attributes: attributes.to_vec(),
        announced: NlriList::new(),
    };
    let received = bgp_wire::Received {
        message: Message::Update(update),
        errors: errors.to_vec(),
    };
    let mut object = json::received(&received, 0);
    object.remove("type");
    object.remove("length");
    object.remove("withdrawn");
    object.remove("announced");
    object
}
