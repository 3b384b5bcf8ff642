using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Journal;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileStore.Operations.TaskArchive;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileStore.Snapshot;
using StatePersistence.FileSystem;
using StatePersistence.Recovery;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.Encryption;

/// <summary>
/// Opens every payload of a state directory with one envelope, read-only, and lists what does not open. Each file is
/// read directly rather than through start-up recovery: recovery reads the task, session and backup files only when
/// it needs them (not while <c>state.json</c> is valid), stops at the first payload under a missing key, and repairs
/// what it finds, so its messages would describe repairs. A file that goes meanwhile (a running server's checkpoint
/// or rotation) is skipped: whatever replaces it is written under the active key. A session log whose last append
/// looks damaged is read again after the settle time (<see cref="DamagedLastAppendJudgement"/>, through
/// <paramref name="pause"/>; <see cref="Thread.Sleep(TimeSpan)"/> when null), as <c>statectl verify</c> reads it: beside
/// a running server it may be an append in flight.
/// </summary>
internal sealed class PayloadSweep(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope, CancellationToken cancellationToken,
    Action<TimeSpan>? pause = null)
{
    private readonly List<string> _problems = [];

    /// <summary>Every problem once, in the order found (files in a fixed order: snapshots, journal, items, logs, reports, archives).</summary>
    public IReadOnlyList<string> Run()
    {
        CheckSnapshots();
        CheckJournal();
        CheckItemFiles(PayloadKind.Task, layout.TasksDirectory);
        CheckItemFiles(PayloadKind.Session, layout.SessionsDirectory);
        CheckSessionLogs();
        CheckReports();
        CheckTaskArchives();

        // A segment or log under a revoked key fails the same way for each of its payloads: one line says it.
        return [.. _problems.Distinct(StringComparer.Ordinal)];
    }

    private void CheckSnapshots()
    {
        List<string> paths = [layout.StateFile, .. new Backups(fileSystem, layout).ListNewestFirst().Select(name => Path.Combine(layout.Root, name))];
        foreach (string path in paths)
        {
            Open(path, () => SnapshotReader.Read(envelope.OpenFile(fileSystem, PayloadKind.Snapshot, FileRecovery.SnapshotId, path), path));
        }
    }

    private void CheckJournal()
    {
        var journal = new JournalReader(fileSystem, layout, envelope);
        List<JournalSegment> segments = [];
        Open(layout.JournalDirectory, () => segments = journal.Scan());
        foreach (JournalSegment segment in segments)
        {
            // Only damage: the torn tail of the segment being written is the journal's end, not a problem.
            foreach (DroppedByteRange range in segment.Dropped.Where(d => d.Damage))
            {
                Problem(segment.Path, $"{ByteRangeText.Of(range.Offset, range.Length)} are damaged ({range.Reason})");
            }

            // Every record of every segment, superseded ones too: each is a payload some key must still open.
            foreach (RecordRef record in segment.Records)
            {
                string sequence = record.Sequence.ToString(CultureInfo.InvariantCulture);
                Open(segment.Path, () =>
                {
                    List<StateChange> changes = JournalFormat.DecodeChanges(
                        envelope.OpenRecord(PayloadKind.JournalRecord, sequence, segment.Payload(record).Span, segment.Path));
                    JournalReplay.Prepare(new JournalRecord(record.Sequence, changes, segment.Raw(record)));
                }, $"journal record {sequence}");
            }
        }
    }

    private void CheckItemFiles(PayloadKind kind, string directory)
    {
        foreach (string name in fileSystem.ListFiles(directory))
        {
            string path = Path.Combine(directory, name);
            if (!Skipped(name) && StateLayout.ItemId(name) is { } id)
            {
                cancellationToken.ThrowIfCancellationRequested();
                ItemFileAgreement.ReadItem(fileSystem, envelope, kind, path, id, out string? problem);
                if (problem is not null)
                {
                    Problem(path, problem);
                }
            }
        }
    }

    private void CheckSessionLogs()
    {
        var logs = new SessionLogs(fileSystem, layout, envelope, TimeProvider.System, _ => { });
        foreach (string name in fileSystem.ListFiles(layout.LogsDirectory))
        {
            string path = Path.Combine(layout.LogsDirectory, name);
            if (Skipped(name) || name.EndsWith(SessionLogs.FailedMarkerSuffix, StringComparison.Ordinal)
                || !StateLayout.TryParseSessionLogName(name, out string id, out _))
            {
                continue;
            }

            Open(path, () =>
            {
                // A frame at a time: a log of gigabytes is checked in the memory of its largest append. A suspect last
                // append may be one in flight beside a running server: judged again on a later read.
                if (logs.ScanFile(id, path) is not { } first
                    || DamagedLastAppendJudgement.Settle(first, () => logs.ScanFile(id, path), pause ?? Thread.Sleep, out (long Offset, long Length)? stillDamaged) is not { } scan)
                {
                    return; // gone meanwhile, or plain text from before framing: no payload to open
                }

                foreach ((long offset, long length) in scan.Damage)
                {
                    Problem(path, $"bytes {offset}..{offset + length - 1} are damaged (they fail their checksum or do not decrypt)");
                }

                // After the last frame: a torn append (a crash, or one in flight beside a server) is no payload, but a
                // whole frame still failing its checksum on the read again is damage, as start-up recovery judges it.
                if (stillDamaged is { } last)
                {
                    Problem(path, $"bytes {last.Offset}..{last.Offset + last.Length - 1} are damaged (the last append fails its checksum)");
                }
            });
        }
    }

    private void CheckReports()
    {
        foreach (string name in fileSystem.ListFiles(layout.ReportsDirectory))
        {
            string path = Path.Combine(layout.ReportsDirectory, name);
            if (!Skipped(name) && name.StartsWith("report_", StringComparison.Ordinal) && StateLayout.ItemId(name) is { } stem)
            {
                string id = stem["report_".Length..];
                Open(path, () => JsonDocument.Parse(envelope.Open(PayloadKind.Report, id, fileSystem.ReadAllBytes(path), path)).Dispose());
            }
        }
    }

    private void CheckTaskArchives()
    {
        string directory = TaskArchives.DirectoryOf(layout.Root);
        foreach (string name in fileSystem.ListFiles(directory))
        {
            string path = Path.Combine(directory, name);
            if (Skipped(name) || !name.EndsWith(TaskArchives.FileExtension, StringComparison.Ordinal))
            {
                continue;
            }

            Open(path, () =>
            {
                (TaskArchiveManifest manifest, Dictionary<string, byte[]> entries) = TaskArchiveFile.Read(fileSystem.ReadAllBytes(path), path);
                if (manifest.Sealed)
                {
                    foreach (ArchiveEntry entry in manifest.Entries)
                    {
                        envelope.Open(TaskArchiveManifest.KindOf(entry.Name), entry.Name, entries[entry.Name], path + "!" + entry.Name);
                    }
                }
            });
        }
    }

    /// <summary>Runs one read; what it throws becomes a problem naming <paramref name="path"/> (and <paramref name="what"/> in it).</summary>
    private void Open(string path, Action read, string? what = null)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            read();
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            // Gone since the listing (or never there, like a state.json not yet written): nothing to open.
        }
        catch (StateFormatException ex)
        {
            // A key the codec lacks or has revoked, another codec, a newer format: the message names the file and the
            // key, and is the same for each payload of the file, so the file is listed once.
            Problem(path, ex.Message);
        }
        catch (Exception ex) when (ex is InvalidDataException or CryptographicException or JsonException || JournalReplay.IsParseFailure(ex))
        {
            Problem(path, $"{what ?? "the file"} is damaged: {ex.Message}");
        }
    }

    /// <summary>One problem, starting with its file unless the message already names it.</summary>
    private void Problem(string path, string problem) =>
        _problems.Add(problem.Contains(path, StringComparison.Ordinal) ? problem : $"'{path}': {problem}");

    /// <summary>Writes in progress (temp files) and files already moved aside as corrupt hold no stored payload.</summary>
    private static bool Skipped(string name) =>
        StateLayout.IsTempFile(name) || name.Contains(StateLayout.CorruptMarker, StringComparison.Ordinal);
}
