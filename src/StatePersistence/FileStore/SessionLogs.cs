using System.Collections.Concurrent;
using StatePersistence.FileSystem;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

/// <summary>
/// <c>logs/session_&lt;id&gt;.log</c>: plain text, appended. An append under <see cref="Durability.Full"/> is fsynced
/// before it returns, and so is the directory, the first time this process appends to a log: a log that merely
/// exists may have been created by an append that failed, or by a process killed before it fsynced the directory,
/// and its name would then not survive a power cut. A crash can leave the tail of an unacknowledged append as NUL
/// bytes; start-up trims those, so acknowledged text is always followed only by later appends.
/// <para>After a failed append the next one starts where the failed one did, cutting off what it left: when fsync
/// fails Linux may drop the written pages and never write them (fsyncgate), so appending after them would leave a
/// hole of NULs or stale bytes in front of text that was then acknowledged.</para>
/// </summary>
internal sealed class SessionLogs(IFileSystem fileSystem, StateLayout layout)
{
    private const int TailWindow = 1 << 16;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _namesMadeDurable = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _failedAppendStarts = new(StringComparer.Ordinal);

    public async ValueTask AppendAsync(string sessionId, ReadOnlyMemory<byte> text, Durability durability, CancellationToken cancellationToken)
    {
        SemaphoreSlim gate = _locks.GetOrAdd(sessionId, static _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            string path = layout.SessionLogFile(sessionId);
            using IFileHandle handle = fileSystem.Open(path, FileOpenMode.OpenOrCreate);
            long start = _failedAppendStarts.TryGetValue(sessionId, out long failedStart) ? failedStart : handle.Length;
            try
            {
                if (handle.Length > start)
                {
                    handle.SetLength(start);
                }

                handle.Write(start, text.Span);
                if (durability == Durability.Full)
                {
                    handle.Sync();
                    if (!_namesMadeDurable.ContainsKey(sessionId))
                    {
                        fileSystem.SyncDirectory(layout.LogsDirectory);
                        _namesMadeDurable[sessionId] = true;
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _failedAppendStarts[sessionId] = start;
                throw;
            }

            _failedAppendStarts.TryRemove(sessionId, out _);
        }
        finally
        {
            gate.Release();
        }
    }

    public byte[]? Read(string sessionId)
    {
        string path = layout.SessionLogFile(sessionId);
        return fileSystem.FileExists(path) ? fileSystem.ReadAllBytes(path) : null;
    }

    /// <summary>Trims NUL bytes a crash left at the end of logs; returns a description per repaired file.</summary>
    public List<string> RepairTails()
    {
        var repaired = new List<string>();
        foreach (string name in fileSystem.ListFiles(layout.LogsDirectory))
        {
            if (!name.EndsWith(".log", StringComparison.Ordinal))
            {
                continue;
            }

            string path = Path.Combine(layout.LogsDirectory, name);
            using IFileHandle handle = fileSystem.Open(path, FileOpenMode.OpenOrCreate);
            long length = handle.Length;
            long end = length;
            var window = new byte[(int)Math.Min(TailWindow, length)];
            while (end > 0)
            {
                int size = (int)Math.Min(window.Length, end);
                handle.Read(end - size, window.AsSpan(0, size));
                int lastNonZero = window.AsSpan(0, size).LastIndexOfAnyExcept((byte)0);
                if (lastNonZero >= 0)
                {
                    end = end - size + lastNonZero + 1;
                    break;
                }

                end -= size;
            }

            if (end < length)
            {
                handle.SetLength(end);
                handle.Sync();
                repaired.Add($"Session log '{path}' ended in {length - end} NUL bytes from an append a crash interrupted; they were trimmed.");
            }
        }

        return repaired;
    }
}
