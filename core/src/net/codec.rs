//! The libp2p request-response codec of `/zeropole/poc/1`: one length-prefixed canonical
//! message per stream direction (see [`super::wire`]).

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

use super::wire::{Request, Response, MAX_MESSAGE_LEN};

/// The protocol name.
pub const POC_PROTOCOL: StreamProtocol = StreamProtocol::new("/zeropole/poc/1");

/// Bytes of POC messages read and written by every stream of a node (shared).
#[derive(Debug, Clone, Default)]
pub struct ByteCounter {
    read: Arc<AtomicU64>,
    written: Arc<AtomicU64>,
}

impl ByteCounter {
    /// Bytes read so far.
    pub fn bytes_in(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// Bytes written so far.
    pub fn bytes_out(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

/// Reads and writes [`Request`]s and [`Response`]s, counting bytes.
#[derive(Debug, Clone, Default)]
pub struct PocCodec {
    bytes: ByteCounter,
}

impl PocCodec {
    /// A codec counting into `bytes`.
    pub fn new(bytes: ByteCounter) -> Self {
        PocCodec { bytes }
    }
}

async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_MESSAGE_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("message of {len} bytes exceeds {MAX_MESSAGE_LEN}"),
        ));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, bytes: &[u8]) -> io::Result<()> {
    if bytes.len() > MAX_MESSAGE_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("message of {} bytes exceeds {MAX_MESSAGE_LEN}", bytes.len()),
        ));
    }
    io.write_all(&(bytes.len() as u32).to_be_bytes()).await?;
    io.write_all(bytes).await?;
    io.close().await
}

fn invalid(e: crate::codec::DecodeError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl libp2p::request_response::Codec for PocCodec {
    type Protocol = StreamProtocol;
    type Request = Request;
    type Response = Response;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        let frame = read_frame(io).await?;
        self.bytes
            .read
            .fetch_add(4 + frame.len() as u64, Ordering::Relaxed);
        Request::decode(&frame).map_err(invalid)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        let frame = read_frame(io).await?;
        self.bytes
            .read
            .fetch_add(4 + frame.len() as u64, Ordering::Relaxed);
        Response::decode(&frame).map_err(invalid)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Request,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = request.encode();
        self.bytes
            .written
            .fetch_add(4 + bytes.len() as u64, Ordering::Relaxed);
        write_frame(io, &bytes).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = response.encode();
        self.bytes
            .written
            .fetch_add(4 + bytes.len() as u64, Ordering::Relaxed);
        write_frame(io, &bytes).await
    }
}
