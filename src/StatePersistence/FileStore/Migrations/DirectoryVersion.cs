using System.Security.Cryptography;
using System.Text.Json;
using StatePersistence.FileStore.Snapshot;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Migrations;

/// <summary>The format version of a state directory and what it was read from.</summary>
internal sealed record DetectedVersion(string Version, string Source);

/// <summary>
/// Reads a directory's format version without changing anything: the <c>version</c> of <c>state.json</c>; without a
/// readable one, the current version when the journal holds a segment (a directory this library wrote, whose
/// snapshot is missing or corrupt: recovery's business), 1.0.0 when files are there but no journal (the original
/// Node implementation kept none), and the current version for an empty directory.
/// </summary>
internal static class DirectoryVersion
{
    /// <summary>How much of a plain <c>state.json</c> is read first: its version is its first property.</summary>
    private const int PrefixBytes = 64 << 10;

    public static DetectedVersion Detect(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope)
    {
        if (fileSystem.FileExists(layout.StateFile) && ReadVersion(fileSystem, layout.StateFile, envelope) is { } version && FormatVersion.Major(version) >= 0)
        {
            if (FormatVersion.Major(version) > StateFormat.HighestReadableMajor ? IsIntact(fileSystem, layout.StateFile, envelope)
                : FormatVersion.CarriesChecksum(version) || !ReadsOlderThanWritten(fileSystem, layout.StateFile, envelope, version))
            {
                return new DetectedVersion(version, "state.json");
            }

            // A checksummed file is this library's (2.1 and later); its version is not to be trusted, so it is not
            // taken for the Node layout either: recovery moves it aside and rebuilds.
            return new DetectedVersion(StateFormat.CurrentVersion, $"state.json, damaged (its version reads {version} but its checksum fails): recovery's case");
        }

        if (fileSystem.ListFiles(layout.JournalDirectory).Any(name => name.EndsWith(".wal", StringComparison.Ordinal)))
        {
            return new DetectedVersion(StateFormat.CurrentVersion, "journal");
        }

        return HasContent(fileSystem, layout)
            ? new DetectedVersion("1.0.0", "the original Node implementation's layout (files but no journal and no readable state.json)")
            : new DetectedVersion(StateFormat.CurrentVersion, "empty directory");
    }

    /// <summary>The <c>version</c> of a state file, or null when it has none that can be read (recovery's case).</summary>
    private static string? ReadVersion(IFileSystem fileSystem, string path, PayloadEnvelope envelope)
    {
        try
        {
            using (IFileHandle handle = fileSystem.Open(path, FileOpenMode.Read))
            {
                var prefix = new byte[(int)Math.Min(handle.Length, PrefixBytes)];
                int read = handle.Read(0, prefix);
                if (read > 0 && prefix[0] == (byte)'{' && Find(prefix.AsSpan(0, read), isFinalBlock: read == handle.Length) is { } found)
                {
                    return found;
                }
            }

            // A snapshot in the binary envelope (another codec), or one whose version is not near its start.
            return Find(envelope.Open(PayloadKind.Snapshot, FileRecovery.SnapshotId, fileSystem.ReadAllBytes(path), path), isFinalBlock: true);
        }
        catch (Exception ex) when (ex is InvalidDataException or CryptographicException)
        {
            return null;
        }
    }

    /// <summary>
    /// Whether a state file whose version reads newer than this build's is intact: one flipped bit makes "2.1.0" read
    /// "3.1.0", and a directory is refused as newer only on a version its checksum vouches for. A damaged file has no
    /// readable version; recovery moves it aside.
    /// </summary>
    private static bool IsIntact(IFileSystem fileSystem, string path, PayloadEnvelope envelope)
    {
        try
        {
            return SnapshotReader.ChecksumProblem(envelope.Open(PayloadKind.Snapshot, FileRecovery.SnapshotId, fileSystem.ReadAllBytes(path), path)) is null;
        }
        catch (Exception ex) when (ex is InvalidDataException or JsonException or CryptographicException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether a state file whose version reads older than 2.1 was written by this library at 2.1 or later, its version
    /// damaged since: it ends in this library's checksum, which fails (<see cref="SnapshotReader.OlderVersionProblem"/>).
    /// Such a directory is not migrated from the version it reads (from "0.1.0" no migration starts, and every start
    /// was refused); recovery moves the file aside and rebuilds.
    /// </summary>
    private static bool ReadsOlderThanWritten(IFileSystem fileSystem, string path, PayloadEnvelope envelope, string version)
    {
        try
        {
            return SnapshotReader.OlderVersionProblem(version, envelope.Open(PayloadKind.Snapshot, FileRecovery.SnapshotId, fileSystem.ReadAllBytes(path), path)) is not null;
        }
        catch (Exception ex) when (ex is InvalidDataException or JsonException or CryptographicException)
        {
            return false;
        }
    }

    /// <summary>The string value of the root object's <c>version</c>, or null (not found, not JSON, cut short).</summary>
    private static string? Find(ReadOnlySpan<byte> json, bool isFinalBlock)
    {
        try
        {
            var reader = new Utf8JsonReader(json, isFinalBlock, default);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isVersion = reader.ValueTextEquals("version"u8);
                if (!reader.Read())
                {
                    return null;
                }

                if (isVersion)
                {
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                if (!reader.TrySkip())
                {
                    return null;
                }
            }

            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Whether the directory holds anything a migration would carry over.</summary>
    private static bool HasContent(IFileSystem fileSystem, StateLayout layout) =>
        fileSystem.ListFiles(layout.Root).Any(name => name is not (".lock" or ".lock.owner"))
        || layout.Directories.Any(directory => fileSystem.ListFiles(directory).Count > 0);
}
