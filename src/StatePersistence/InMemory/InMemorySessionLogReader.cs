using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Storage;
using StatePersistence.Storage.SessionLogReading;

namespace StatePersistence.InMemory;

/// <summary>
/// A session log of the in-memory store as it was opened: its sealed appends (the arrays the store holds, not copies),
/// each opened again, and so verified, as it is written.
/// </summary>
internal sealed class InMemorySessionLogReader : ISessionLogReader
{
    private readonly string _sessionId;
    private readonly byte[][] _appends;
    private readonly long[] _starts;
    private readonly PayloadEnvelope _envelope;
    private readonly string _where;

    public InMemorySessionLogReader(string sessionId, byte[][] appends, PayloadEnvelope envelope, string where)
    {
        _sessionId = sessionId;
        _appends = appends;
        _envelope = envelope;
        _where = where;
        _starts = new long[appends.Length];
        long length = 0;
        for (int i = 0; i < appends.Length; i++)
        {
            _starts[i] = length;
            length += Open(i).Length;
        }

        Length = length;
    }

    public long Length { get; }

    public async ValueTask CopyToAsync(Stream destination, long offset, long count, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        TextRange.Validate(_sessionId, offset, count, Length);
        long end = offset + count;
        for (int i = count == 0 ? _appends.Length : TextRange.CheckpointBefore(_starts, offset); i < _appends.Length && _starts[i] < end; i++)
        {
            await TextRange.WriteOverlapAsync(destination, Open(i), _starts[i], offset, end, cancellationToken).ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private byte[] Open(int index) => _envelope.Open(PayloadKind.SessionLogAppend, _sessionId, _appends[index], _where);
}
