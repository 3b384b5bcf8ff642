using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using StatePersistence.Errors;
using StatePersistence.FileSystem;

namespace StatePersistence.Serialization.Envelope;

/// <summary>
/// The one envelope every stored byte goes through, whichever store keeps it: it applies the configured
/// <see cref="IPayloadCodec"/>, records the envelope version, the codec id and the key id, binds the payload to what
/// it is (<see cref="PayloadContext"/>: kind and id, the associated data) and checks a checksum of it when read.
/// <list type="bullet">
/// <item><description>Binary form (<see cref="EnvelopeFormat"/>): every payload under a codec other than identity, and
/// every journal record.</description></item>
/// <item><description>Plain-JSON forms under the identity codec, so the seed's files stay readable: task and session
/// files (<see cref="ItemJsonEnvelope"/>), reports (<see cref="ReportJsonEnvelope"/>), snapshots (the trailing
/// <c>checksum</c> of <c>state.json</c>, written and checked by the snapshot writer and reader as it streams).</description></item>
/// <item><description>No envelope at all: content written before envelopes existed (plain JSON, a journal payload
/// without the magic), read as identity-coded (legacy).</description></item>
/// </list>
/// Reading tells damage from a newer writer or the wrong key: a checksum that fails (or a codec that cannot decode
/// intact-looking bytes) is damage, <see cref="InvalidDataException"/>, for the caller to move aside and report; an
/// intact envelope of another version or codec, under a key the ring lacks or revoked, or whose tag fails although
/// its checksum holds (other key material under the same key id) is refused with <see cref="StateFormatException"/>
/// naming the file, and the caller changes nothing.
/// </summary>
internal sealed class PayloadEnvelope
{
    private readonly IPayloadCodec _codec;
    private readonly byte[] _identityRecordHeader = EnvelopeFormat.Header(IdentityCodec.CodecName, null);
    private readonly bool _identityCodec;

    public PayloadEnvelope(IPayloadCodec codec)
    {
        ArgumentNullException.ThrowIfNull(codec);
        if (!EnvelopeFormat.IsValidName(codec.Name, required: true))
        {
            throw new ArgumentException($"The payload codec's name '{codec.Name}' must be 1 to 255 printable ASCII characters.", nameof(codec));
        }

        _codec = codec;
        _identityCodec = codec is IdentityCodec;
    }

    /// <summary>The envelope of the identity codec.</summary>
    public static PayloadEnvelope Identity { get; } = new(IdentityCodec.Instance);

    /// <summary>The envelope of <paramref name="codec"/>, or <see cref="Identity"/> when none is given (no encryption).</summary>
    public static PayloadEnvelope For(IPayloadCodec? codec) => codec is null ? Identity : new PayloadEnvelope(codec);

    /// <summary>
    /// Whether new payloads are stored as they are (and JSON files keep their plain-JSON forms): under the identity
    /// codec, and under a key ring with no active key (encryption being turned off). The latter can change while the
    /// store runs (the key file is read again), so a writer that decides a format from it reads it once per payload.
    /// </summary>
    public bool IsIdentity => Target().Clear;

    /// <summary>Whether the codec holds a key ring: payloads may be sealed under its keys, even while none is active.</summary>
    public bool HasKeyRing => _codec is Encryption.AesGcmCodec;

    /// <summary>
    /// Told of every refusal for other key material under a payload's key id (<see cref="KeyMaterialDiffers"/>), before
    /// it is thrown: a tool that opens every file (<c>statectl keys verify</c>) says it once per key rather than once
    /// per file, since every payload under that key fails the same way.
    /// </summary>
    public Action<StateFormatException>? KeyMaterialRefused { get; init; }

    /// <summary>The configured codec's id.</summary>
    public string CodecName => _codec.Name;

    /// <summary>The key new payloads are sealed with; null when they are stored in the clear.</summary>
    public string? ActiveKeyId => Target().KeyId;

    /// <summary>The ids and states of the codec's key ring now (the key file may have changed); null without one.</summary>
    public IReadOnlyDictionary<string, Encryption.EncryptionKeyState>? KeyStates() =>
        _codec is Encryption.AesGcmCodec aes ? aes.Keys.GetKeyRing().Keys.ToDictionary(k => k.Id, k => k.State, StringComparer.Ordinal) : null;

    /// <summary>
    /// The stored bytes of a standalone payload (a file or blob). Under the identity codec a task, session or report
    /// gets its plain-JSON form; everything else gets the binary form with its CRC-32 trailer.
    /// </summary>
    public byte[] Seal(PayloadKind kind, string id, ReadOnlySpan<byte> plain)
    {
        (bool clear, string? keyId) = Target();
        if (clear)
        {
            switch (kind)
            {
                case PayloadKind.Task or PayloadKind.Session:
                    return ItemJsonEnvelope.Seal(new PayloadContext(kind, id, null), plain);
                case PayloadKind.Report:
                    return ReportJsonEnvelope.Wrap(id, plain);
            }
        }

        if (kind == PayloadKind.Snapshot)
        {
            // The same form a checkpoint streams (plain JSON, or segmented), so a re-sealed backup reads like a fresh state.json.
            using var buffer = new MemoryStream();
            using (Stream sealing = SealStream(kind, id, buffer, clear, keyId))
            {
                sealing.Write(plain);
            }

            return buffer.ToArray();
        }

        IPayloadCodec codec = clear ? IdentityCodec.Instance : _codec;
        PayloadContext context = SealingContext(kind, id, keyId);
        byte[] header = EnvelopeFormat.Header(codec.Name, context.KeyId);
        byte[] body = codec.Encode(plain, context);
        var output = new ArrayBufferWriter<byte>(header.Length + body.Length + EnvelopeFormat.ChecksumSize);
        output.Write(header);
        output.Write(body);
        EnvelopeFormat.WriteChecksum(output, context.AssociatedData(), output.WrittenSpan);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The plain bytes of a standalone payload <paramref name="path"/> held: its envelope verified and removed, or
    /// the content itself when it has none (legacy). For a snapshot in plain JSON the content is returned as it is:
    /// the snapshot reader checks its trailing checksum.
    /// </summary>
    public byte[] Open(PayloadKind kind, string id, byte[] stored, string path)
    {
        var context = new PayloadContext(kind, id, null);
        if (SegmentedEnvelope.IsSegmented(stored))
        {
            return OpenSegmented(new SegmentedEnvelope.Source(stored.Length, (offset, buffer) => ReadArray(stored, offset, buffer)), context, path);
        }

        if (EnvelopeFormat.HasMagic(stored))
        {
            byte[] associatedData = context.AssociatedData();
            if (!EnvelopeFormat.ChecksumHolds(stored, associatedData))
            {
                throw new InvalidDataException($"the envelope's checksum fails: the content was damaged after it was written, or belongs to another {ItemJsonEnvelope.KindName(kind)} than '{id}'");
            }

            return Decode(stored.AsSpan(0, stored.Length - EnvelopeFormat.ChecksumSize), context, path).ToArray();
        }

        return kind switch
        {
            PayloadKind.Task or PayloadKind.Session => ItemJsonEnvelope.Open(context, stored, path),
            PayloadKind.Report => ReportJsonEnvelope.Unwrap(id, stored),
            PayloadKind.SessionLogAppend => LegacyAppend(stored, context),
            _ => stored,
        };
    }

    /// <summary>
    /// A log append stored without the magic, taken as text written before envelopes, unless it is an envelope whose
    /// magic alone was damaged: with the magic put back its checksum holds (by chance for text once in 2^32). Such a
    /// row was served as text, header and trailer bytes included, and its damage never raised.
    /// </summary>
    private static byte[] LegacyAppend(byte[] stored, PayloadContext context)
    {
        if (stored.Length >= EnvelopeFormat.FixedHeaderSize + EnvelopeFormat.ChecksumSize)
        {
            byte[] restored = (byte[])stored.Clone();
            BinaryPrimitives.WriteUInt32LittleEndian(restored, EnvelopeFormat.Magic);
            if (EnvelopeFormat.ChecksumHolds(restored, context.AssociatedData()))
            {
                throw new InvalidDataException("the envelope's first bytes (its magic) were damaged: with them put back its checksum holds");
            }
        }

        return stored;
    }

    /// <summary>
    /// Whether <paramref name="stored"/> is an item file this library sealed for item <paramref name="id"/>: an envelope
    /// (binary, or the plain-JSON <c>$envelope</c>) whose checksum holds. A file without one (made by hand, or by a
    /// build from before the envelope) or a damaged one is not.
    /// </summary>
    public static bool IsSealedItem(PayloadKind kind, string id, byte[] stored, string path)
    {
        var context = new PayloadContext(kind, id, null);
        if (EnvelopeFormat.HasMagic(stored))
        {
            return EnvelopeFormat.ChecksumHolds(stored, context.AssociatedData());
        }

        try
        {
            return ItemJsonEnvelope.HasEnvelope(stored) && ItemJsonEnvelope.Open(context, stored, path).Length > 0;
        }
        catch (Exception ex) when (ex is InvalidDataException or Errors.StateFormatException or System.Text.Json.JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// Writes a payload kept inside a container that checksums it (a journal record, a session log frame): the binary
    /// header, then the codec's output; the container's checksum covers both.
    /// </summary>
    public void SealRecord(IBufferWriter<byte> output, PayloadKind kind, string id, ReadOnlySpan<byte> plain)
    {
        (bool clear, string? keyId) = Target();
        if (clear)
        {
            // An identity envelope, not bare text: a container whose format says "enveloped" (a version 3 session
            // log) stays readable when encryption is turned off while it is being appended to.
            output.Write(_identityRecordHeader);
            output.Write(plain);
            return;
        }

        PayloadContext context = SealingContext(kind, id, keyId);
        output.Write(EnvelopeFormat.Header(_codec.Name, context.KeyId));
        output.Write(_codec.Encode(plain, context));
    }

    /// <summary>
    /// The identity codec's record header: under it the caller writes the plain bytes straight after this, into the
    /// same buffer, so the hot path makes no copy of a record for its envelope.
    /// </summary>
    public void WriteIdentityHeader(IBufferWriter<byte> output) => output.Write(_identityRecordHeader);

    /// <summary>
    /// The plain bytes of a payload whose container's checksum held; one without the envelope's magic was written
    /// before envelopes (legacy) and is returned as it is.
    /// </summary>
    public ReadOnlySpan<byte> OpenRecord(PayloadKind kind, string id, ReadOnlySpan<byte> stored, string path) =>
        EnvelopeFormat.HasMagic(stored) ? Decode(stored, new PayloadContext(kind, id, null), path) : stored;

    /// <summary>
    /// Wraps a stream a standalone payload is written through (a snapshot). Under the identity codec the stream itself
    /// (the snapshot carries its own plain-JSON checksum); otherwise the segmented binary form
    /// (<see cref="SegmentedEnvelope"/>), completed when disposed: no more than one segment is held in memory.
    /// </summary>
    public Stream SealStream(PayloadKind kind, string id, Stream inner)
    {
        (bool clear, string? keyId) = Target();
        return SealStream(kind, id, inner, clear, keyId);
    }

    private Stream SealStream(PayloadKind kind, string id, Stream inner, bool clear, string? keyId) =>
        clear ? inner : new SegmentedWriteStream(inner, _codec, SealingContext(kind, id, keyId));

    /// <summary>
    /// How a payload is stored now, read once so that one payload's format and key agree: in the clear (the identity
    /// codec, or a key ring with no active key), or under the codec with its current key.
    /// </summary>
    private (bool Clear, string? KeyId) Target()
    {
        if (_identityCodec)
        {
            return (true, null);
        }

        string? keyId = _codec.KeyId;
        return (keyId is null && HasKeyRing, keyId);
    }

    /// <summary>
    /// The plain bytes of the standalone payload in the file at <paramref name="path"/>, as <see cref="Open"/> returns
    /// them. A segmented envelope (a sealed snapshot) is decoded segment by segment straight from the file into one
    /// buffer of the plain size, so loading it holds one full copy, as loading a plain file does, not two.
    /// </summary>
    public byte[] OpenFile(IFileSystem fileSystem, PayloadKind kind, string id, string path)
    {
        using (IFileHandle handle = fileSystem.Open(path, FileOpenMode.Read))
        {
            Span<byte> head = stackalloc byte[EnvelopeFormat.FixedHeaderSize];
            int read = handle.Read(0, head);
            if (SegmentedEnvelope.IsSegmented(head[..read]))
            {
                var source = new SegmentedEnvelope.Source(handle.Length, handle.Read);
                return OpenSegmented(source, new PayloadContext(kind, id, null), path);
            }
        }

        return Open(kind, id, fileSystem.ReadAllBytes(path), path);
    }

    private byte[] OpenSegmented(SegmentedEnvelope.Source source, PayloadContext context, string path)
    {
        try
        {
            return SegmentedEnvelope.Open(source, _codec, context, path);
        }
        catch (StateFormatException refusal) when (refusal.KeyMaterialDiffers)
        {
            KeyMaterialRefused?.Invoke(refusal);
            throw;
        }
    }

    private static int ReadArray(byte[] stored, long offset, Span<byte> buffer)
    {
        if (offset >= stored.Length)
        {
            return 0;
        }

        int count = (int)Math.Min(buffer.Length, stored.Length - offset);
        stored.AsSpan((int)offset, count).CopyTo(buffer);
        return count;
    }

    private static PayloadContext SealingContext(PayloadKind kind, string id, string? keyId)
    {
        if (!EnvelopeFormat.IsValidName(keyId, required: false))
        {
            throw new InvalidOperationException($"The payload codec's key id '{keyId}' must be 0 to 255 printable ASCII characters.");
        }

        return new PayloadContext(kind, id, keyId);
    }

    /// <summary>Decodes an envelope whose bytes are intact (its checksum, or its container's, held).</summary>
    private ReadOnlySpan<byte> Decode(ReadOnlySpan<byte> envelope, PayloadContext context, string path)
    {
        int at = EnvelopeFormat.ReadHeader(envelope, out byte version, out string codec, out string? keyId);
        if (version != EnvelopeFormat.Version)
        {
            throw new StateFormatException(
                $"'{path}' holds envelope version {version}; this build reads envelope version {EnvelopeFormat.Version} (and {EnvelopeFormat.SegmentedVersion} for a whole file sealed in segments). Upgrade StatePersistence; nothing was changed.", path);
        }

        if (at < 0)
        {
            throw new InvalidDataException("the envelope's header is longer than the content");
        }

        ReadOnlySpan<byte> body = envelope[at..];
        if (codec == IdentityCodec.CodecName)
        {
            // Written before this store was given its codec: identity needs no key and is always readable.
            return body;
        }

        if (codec != _codec.Name)
        {
            throw OtherCodec(path, codec, keyId, _codec.Name);
        }

        try
        {
            return _codec.Decode(body, context with { KeyId = keyId });
        }
        catch (PayloadKeyUnavailableException ex)
        {
            throw KeyUnavailable(path, keyId, ex);
        }
        catch (AuthenticationTagMismatchException)
        {
            // The checksum (the envelope's, or its container's) held, so these are the bytes that were written: a tag
            // that fails on them is the wrong key material, not damage at rest.
            StateFormatException refusal = KeyMaterialDiffers(path, keyId);
            KeyMaterialRefused?.Invoke(refusal);
            throw refusal;
        }
        catch (Exception ex) when (ex is CryptographicException or InvalidDataException or ArgumentException)
        {
            throw new InvalidDataException($"codec '{codec}' cannot decode the payload ({ex.Message}): it was damaged, or belongs to another {ItemJsonEnvelope.KindName(context.Kind)} than '{context.Id}'", ex);
        }
    }

    /// <summary>An intact payload of a codec this store is not configured with: refused, nothing changed.</summary>
    internal static StateFormatException OtherCodec(string path, string codec, string? keyId, string configured) => new(
        $"'{path}' was written with payload codec '{codec}'{(keyId is null ? "" : $" (key '{keyId}')")}; this store is configured with codec '{configured}'. Configure the codec it was written with; nothing was changed.", path, codec, configured);

    /// <summary>
    /// An intact payload under a key the ring does not hold (or revoked). Not damage: the payload may be perfectly
    /// intact, and quarantining or rebuilding it would lose it for good. Stop, name the key and the file, change nothing.
    /// </summary>
    internal static StateFormatException KeyUnavailable(string path, string? keyId, PayloadKeyUnavailableException ex) => new(
        $"'{path}' was sealed with the key '{keyId}', which {(ex.Revoked ? "is revoked in the key ring" : "the key ring does not hold")}. " +
        (ex.Revoked
            ? $"Mark the key '{keyId}' retired again instead of revoked (statectl keys retire {keyId}) and start again; this is not corruption, and nothing was changed."
            : $"Add the key '{keyId}' to the key ring (or restore it) and start again; this is not corruption, and nothing was changed."), path, keyId, keyMaterialDiffers: false);

    /// <summary>
    /// An intact payload (its checksum holds) that does not authenticate under the key its header names. A bit flipped
    /// at rest fails the checksum first, so this is the wrong key material under the right id (a mistyped key, another
    /// host's key), or bytes altered on purpose with the checksum recomputed. Quarantining would move every file under
    /// that key aside for a configuration mistake, so, as for a missing key: stop, name the key and the file, change nothing.
    /// </summary>
    internal static StateFormatException KeyMaterialDiffers(string path, string? keyId) => new(
        $"'{path}' does not authenticate under the key '{keyId}' although its checksum holds: its bytes are intact, so the key material " +
        $"the key ring holds for '{keyId}' differs from the key that sealed it (a mistyped key, or another host's key under the same id), " +
        $"or the file was altered on purpose. Supply the key '{keyId}' it was sealed with and start again; this is not damage at rest, and nothing was changed.",
        path, keyId, keyMaterialDiffers: true);
}
