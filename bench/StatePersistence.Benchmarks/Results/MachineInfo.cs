using System.Globalization;
using System.Runtime.InteropServices;

namespace StatePersistence.Benchmarks.Results;

/// <summary>The machine a run measured, so numbers from different runs are not compared blindly.</summary>
public sealed class MachineInfo
{
    /// <summary>Logical processors.</summary>
    public required int Cores { get; init; }

    /// <summary>Physical memory in bytes.</summary>
    public required long MemoryBytes { get; init; }

    /// <summary>The CPU model, when the OS says.</summary>
    public string? Cpu { get; init; }

    /// <summary>The operating system.</summary>
    public required string Os { get; init; }

    /// <summary>
    /// The kernel's release (/proc/sys/kernel/osrelease), when the OS says: the file system's behaviour changes with it
    /// (Linux 6.13's multigrain timestamps made a timestamp query cost every later fdatasync an inode write).
    /// </summary>
    public string? Kernel { get; init; }

    /// <summary>The .NET runtime.</summary>
    public required string Dotnet { get; init; }

    /// <summary>When the run started, ISO-8601 UTC.</summary>
    public required string Date { get; init; }

    /// <summary>Where the cases' temporary directories were made.</summary>
    public required string BenchRoot { get; init; }

    /// <summary>The file system holding <see cref="BenchRoot"/>: type, device, mount point and options.</summary>
    public string? FileSystem { get; init; }

    /// <summary>
    /// The 1-minute load average when the run started (from /proc/loadavg). Well above <see cref="Cores"/> means
    /// other work shared the machine, and absolute numbers from this run are not comparable with a quiet one.
    /// </summary>
    public double? LoadAverageAtStart { get; init; }

    /// <summary>The 1-minute load average when the run ended.</summary>
    public double? LoadAverageAtEnd { get; set; }

    /// <summary>Describes this machine; <paramref name="benchRoot"/> must exist.</summary>
    public static MachineInfo Describe(string benchRoot, TimeProvider time) => new()
    {
        Cores = Environment.ProcessorCount,
        MemoryBytes = MemTotal() ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
        Cpu = ProcField("/proc/cpuinfo", "model name"),
        Os = RuntimeInformation.OSDescription,
        Kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : null,
        Dotnet = RuntimeInformation.FrameworkDescription,
        Date = time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        BenchRoot = benchRoot,
        FileSystem = MountOf(benchRoot),
        LoadAverageAtStart = LoadAverage(),
    };

    /// <summary>The current 1-minute load average, or null where /proc/loadavg does not exist.</summary>
    public static double? LoadAverage() =>
        File.Exists("/proc/loadavg")
        && double.TryParse(File.ReadAllText("/proc/loadavg").Split(' ')[0], NumberStyles.Float,
            CultureInfo.InvariantCulture, out double load)
            ? load
            : null;

    private static long? MemTotal() =>
        ProcField("/proc/meminfo", "MemTotal") is { } kb && long.TryParse(kb.Split(' ')[0], out long value)
            ? value * 1024
            : null;

    private static string? ProcField(string file, string key)
    {
        if (!File.Exists(file))
        {
            return null;
        }

        string? line = File.ReadLines(file).FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
        return line?[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
    }

    /// <summary>The /proc/mounts line with the longest mount point that contains <paramref name="path"/>.</summary>
    private static string? MountOf(string path)
    {
        if (!File.Exists("/proc/mounts"))
        {
            return null;
        }

        string full = Path.GetFullPath(path).TrimEnd('/') + "/";
        return File.ReadLines("/proc/mounts")
            .Select(l => l.Split(' '))
            .Where(f => f.Length >= 4 && full.StartsWith(f[1].TrimEnd('/') + "/", StringComparison.Ordinal))
            .OrderByDescending(f => f[1].Length)
            .Select(f => $"{f[2]} {f[0]} on {f[1]} ({f[3]})")
            .FirstOrDefault();
    }
}
