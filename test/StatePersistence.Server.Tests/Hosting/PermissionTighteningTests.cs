using StatePersistence.Server.Configuration;
using StatePersistence.Server.Tests.Support;
using Entry = StatePersistence.Server.Configuration.PermissionTightening.Entry;

namespace StatePersistence.Server.Tests.Hosting;

/// <summary>
/// The permission walk runs beside the store's writers: a file or directory deleted between the listing and its chmod
/// is skipped, and everything still there is tightened.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PermissionTighteningTests : IDisposable
{
    private const UnixFileMode LooseFile = (UnixFileMode)0x1A4; // 0644
    private const UnixFileMode LooseDirectory = (UnixFileMode)0x1ED; // 0755
    private readonly TempDirectory _directory = new();

    public PermissionTighteningTests() => Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix modes only.");

    public void Dispose() => _directory.Dispose();

    private string Root => _directory.Combine("state");

    [Fact]
    public void EntriesDeletedBetweenTheListingAndTheChmod_AreSkipped()
    {
        string kept = Loose("reports/report_kept.json");
        string vanishingFile = Loose("reports/report_x.json.189.tmp");
        string vanishingDirectory = Loose("tasks/");
        Loose("tasks/task_1.json");
        Loose("tasks/task_2.json.7.tmp");

        // Each vanishing entry is deleted right after the real listing named it, before the walk gets to its chmod.
        int changed = PermissionTightening.Tighten(Root, DeletingAsListed(PermissionTightening.List(Root), vanishingFile, vanishingDirectory));

        Assert.False(File.Exists(vanishingFile));
        Assert.False(Directory.Exists(vanishingDirectory));
        Assert.Equal(3, changed); // the root, reports/ and the report kept
        Assert.Equal((UnixFileMode)0x1C0, File.GetUnixFileMode(Root));
        Assert.Equal((UnixFileMode)0x1C0, File.GetUnixFileMode(Path.Combine(Root, "reports")));
        Assert.Equal((UnixFileMode)0x180, File.GetUnixFileMode(kept));
    }

    [Fact]
    public void AListingOfEntriesAlreadyGone_ChangesNothingAndDoesNotThrow()
    {
        Directory.CreateDirectory(Root, (UnixFileMode)0x1C0);

        int changed = PermissionTightening.Tighten(Root,
            [new Entry(Path.Combine(Root, "state.json.3.tmp"), false), new Entry(Path.Combine(Root, "gone", "deeper.json"), false), new Entry(Path.Combine(Root, "gone"), true)]);

        Assert.Equal(0, changed);
    }

    /// <summary>Creates <paramref name="relative"/> (a directory when it ends with '/') with a mode others can read.</summary>
    private string Loose(string relative)
    {
        Directory.CreateDirectory(Root);
        File.SetUnixFileMode(Root, LooseDirectory);
        string path = Path.Combine(Root, relative.TrimEnd('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.SetUnixFileMode(Path.GetDirectoryName(path)!, LooseDirectory);
        if (relative.EndsWith('/'))
        {
            Directory.CreateDirectory(path);
            File.SetUnixFileMode(path, LooseDirectory);
        }
        else
        {
            File.WriteAllText(path, "{}");
            File.SetUnixFileMode(path, LooseFile);
        }

        return path;
    }

    private static IEnumerable<Entry> DeletingAsListed(IEnumerable<Entry> listing, params string[] victims)
    {
        foreach (Entry entry in listing)
        {
            if (victims.Contains(entry.Path))
            {
                if (entry.IsDirectory)
                {
                    Directory.Delete(entry.Path, recursive: true);
                }
                else
                {
                    File.Delete(entry.Path);
                }
            }

            yield return entry;
        }
    }
}
