using System.IO.Hashing;
using System.Text;
using System.Text.RegularExpressions;

namespace StatePersistence.Testing.Fixtures;

/// <summary>
/// A <c>state.json</c> as a newer build would leave it: another version, and a checksum that holds (the CRC-32 of
/// every byte before the comma that precedes the last property, <c>"checksum": "crc32:&lt;8 hex&gt;"</c>), so it is
/// believed newer rather than taken for damage. Written without the core's internals: this file is also compiled into
/// statectl's tests.
/// </summary>
public static partial class NewerStateFile
{
    /// <summary>A minimal state file of <paramref name="version"/> (no tasks, no sessions) with its checksum.</summary>
    public static byte[] Empty(string version, long revision = 0) =>
        WithChecksum($$"""{"version":"{{version}}","revision":{{revision}},"tasks":[],"sessions":[]""");

    /// <summary>Rewrites the checksummed state file at <paramref name="path"/> with <paramref name="version"/>, its checksum recomputed.</summary>
    public static void Rewrite(string path, string version)
    {
        string text = File.ReadAllText(path);
        int checksum = text.LastIndexOf("\"checksum\"", StringComparison.Ordinal);
        string covered = Version().Replace(text[..text.LastIndexOf(',', checksum)], $"\"version\": \"{version}\"", 1);
        if (!covered.Contains(version, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"'{path}' holds no version to rewrite.");
        }

        File.WriteAllBytes(path, WithChecksum(covered));
    }

    private static byte[] WithChecksum(string covered)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(covered);
        return [.. bytes, .. Encoding.UTF8.GetBytes($",\"checksum\":\"crc32:{Crc32.HashToUInt32(bytes):x8}\"}}")];
    }

    [GeneratedRegex("\"version\":\\s*\"[^\"]*\"")]
    private static partial Regex Version();
}
