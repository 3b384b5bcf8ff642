using StatePersistence.Benchmarks.Cases;
using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Tests;

public class CatalogTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Create_NamesAreUnique(bool quick)
    {
        string[] names = [.. CaseCatalog.Create(quick).Select(c => c.Info.Name)];
        Assert.Equal(names.Length, names.Distinct().Count());
    }

    [Fact]
    public void Create_QuickLeavesOutExactlyThe100kTaskCases()
    {
        var full = CaseCatalog.Create(quick: false).ToDictionary(c => c.Info.Name, c => c.Info.Tasks);
        string[] quick = [.. CaseCatalog.Create(quick: true).Select(c => c.Info.Name)];

        string[] leftOut = [.. full.Keys.Except(quick)];
        Assert.Equal(
        [
            CaseNames.WithTasks("snapshot-write", 100_000), CaseNames.SnapshotLoad100k, CaseNames.SaveFull1At100k,
            CaseNames.SaveFull1DuringSnapshot, CaseNames.Snapshot100k, CaseNames.StartupClean100k, CaseNames.StartupCrash100k,
            CaseNames.StartupCleanEncrypted100k,
        ], leftOut);
        Assert.All(leftOut, name => Assert.Equal(100_000, full[name]));
        Assert.DoesNotContain(quick, name => full[name] == 100_000);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(64)]
    public void Pick_WritersNeverShareAKey(int writers)
    {
        var owner = new Dictionary<int, int>();
        for (int writer = 0; writer < writers; writer++)
        {
            for (long sequence = 0; sequence < 3 * TaskDocuments.KeySpace; sequence++)
            {
                int key = TaskDocuments.Pick(writer, writers, sequence).Key;
                Assert.Equal(writer, owner.TryAdd(key, writer) ? writer : owner[key]);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    public void Pick_ConsecutiveSavesOfATask_WriteDifferentDocuments(int writers)
    {
        var last = new Dictionary<int, int>();
        for (long sequence = 0; sequence < 4 * TaskDocuments.KeySpace; sequence++)
        {
            (int key, int document) = TaskDocuments.Pick(writer: 0, writers, sequence);
            Assert.Equal(key, document % TaskDocuments.KeySpace);
            if (last.TryGetValue(key, out int previous))
            {
                Assert.NotEqual(previous, document);
            }

            last[key] = document;
        }
    }
}
