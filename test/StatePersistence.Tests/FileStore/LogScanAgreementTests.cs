using System.Text;
using StatePersistence.FileStore;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// <see cref="SessionLogs.Scan"/> (a log read through a handle a frame at a time, what export, re-encryption and the
/// sweeps stream with) judges every log as <see cref="SessionLogs.Parse"/> (the log read whole) does: the same valid
/// frames, the same damage, the same whole last append failing its checksum.
/// </summary>
public sealed class LogScanAgreementTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    public static TheoryData<string> Cases =>
    [
        "clean", "torn tail", "damage between frames", "garbage between frames", "last append whole but failing its checksum",
        "damaged file header", "plain text (version 1)", "header only", "shorter than a header", "a frame's length damaged",
        "a magic straddling the search window",
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void ScanAndParse_JudgeALogAlike(string name)
    {
        byte[] bytes = Log(name);
        string path = _directory.Combine("session_s1.log");
        File.WriteAllBytes(path, bytes);
        var layout = new StateLayout(_directory.Path);
        var logs = new SessionLogs(PhysicalFileSystem.Instance, layout, PayloadEnvelope.For(null), TimeProvider.System, _ => { });

        (byte[] text, List<(long Offset, long Length)> damage, List<(long Offset, int Size)> frames, string? headerProblem) = logs.Parse("s1", path, bytes);
        var scanned = new List<byte>();
        LogScan scan;
        using (IFileHandle handle = PhysicalFileSystem.Instance.Open(path, FileOpenMode.Read))
        {
            scan = logs.Scan("s1", path, handle, handle.Length, t => scanned.AddRange(t.ToArray()));
        }

        Assert.Equal(damage, scan.Damage);
        Assert.Equal(frames.Count, scan.Frames);
        Assert.Equal(frames.Count == 0 ? SessionLogFormat.FileHeaderSize : frames[^1].Offset + frames[^1].Size, scan.FramesEnd);
        Assert.Equal(SessionLogs.DamagedLastAppend(bytes, damage, frames), scan.DamagedLastAppend);
        Assert.Equal(text, scanned.ToArray());
        Assert.Equal(headerProblem, scan.HeaderProblem);
    }

    private static byte[] Log(string name)
    {
        byte[][] frames = [.. Enumerable.Range(0, 5).Select(i => SessionLogFormat.Frame(Encoding.UTF8.GetBytes(new string((char)('a' + i), 1000 * (i + 1))), null))];
        byte[] header = SessionLogFormat.FileHeader(SessionLogFormat.PlainVersion);
        byte[] clean = [.. header, .. frames.SelectMany(f => f)];
        switch (name)
        {
            case "clean":
                return clean;
            case "torn tail":
                return [.. clean, .. frames[0].AsSpan(0, 30).ToArray()];
            case "damage between frames":
                clean[header.Length + frames[0].Length + 40] ^= 0x40;
                return clean;
            case "garbage between frames":
                return [.. header, .. frames[0], .. Encoding.ASCII.GetBytes("SPLF garbage SPLE"), .. frames[1]];
            case "last append whole but failing its checksum":
                clean[^30] ^= 0x40;
                return clean;
            case "damaged file header":
                clean[1] ^= 0x40;
                return clean;
            case "plain text (version 1)":
                return Encoding.UTF8.GetBytes(new string('p', 100_000));
            case "header only":
                return header;
            case "shorter than a header":
                return header[..5];
            case "a frame's length damaged":
                clean[header.Length + frames[0].Length + 5] ^= 0x7F;
                return clean;
            case "a magic straddling the search window":
                // Damage, then a valid frame starting 2 bytes before the 64 KiB mark of the search past it.
                int gap = (64 * 1024) - 2;
                byte[] damaged = [.. header, .. frames[0], .. new byte[gap], .. frames[1]];
                damaged[header.Length + frames[0].Length] = 0x53; // one byte of a magic: the search starts there
                return damaged;
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "no such case");
        }
    }
}
