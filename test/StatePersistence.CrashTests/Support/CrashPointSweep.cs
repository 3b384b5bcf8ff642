using StatePersistence.Testing.CrashSimulation;

namespace StatePersistence.CrashTests.Support;

/// <summary>
/// The crash-point sweep of one operation outside the modelled workloads (a migration, an import, the task archive,
/// the retention pass). A dry run counts the operation's file-system operations (<see cref="Begin"/>); then, for each
/// point, the test sets up a fresh disk the same way, <see cref="RunAsync"/> crashes the operation before that
/// file-system operation (or runs it whole, for the point after the last), and <see cref="CheckStatesAsync"/> samples
/// the crash states of both crash models and checks each. Every state checked and every violation is in the ledger.
/// </summary>
internal sealed class CrashPointSweep(ReliabilityLedger ledger, string workload, int statesPerPoint)
{
    private static readonly CrashModel[] Models = [CrashModel.StrictWorstCase, CrashModel.Ext4Ordered];

    private readonly Violations _violations = new(ledger, workload);
    private CrashSimulatingFileSystem? _dry;
    private int _start;

    /// <summary>The operation's file-system operations, as the dry run counted them.</summary>
    public int Operations { get; private set; }

    /// <summary>Every crash point: before each operation, and once after the last.</summary>
    public IEnumerable<int> Points => Enumerable.Range(1, Operations + 1);

    /// <summary>
    /// Counts what the dry run on <paramref name="dry"/> did since its operation count was <paramref name="start"/>.
    /// </summary>
    public void Begin(CrashSimulatingFileSystem dry, int start)
    {
        _dry = dry;
        _start = start;
        Operations = dry.OperationCount - start;
        Assert.True(Operations > 0, $"{workload}: the dry run did nothing on disk");
        ledger.RecordWorkload(workload, "power-loss", Operations, Operations + 1);
    }

    /// <summary>
    /// Runs <paramref name="operation"/> on <paramref name="disk"/>, set up as the dry run's was, crashing before its
    /// file-system operation <paramref name="point"/> (never, past the last); then <paramref name="afterCrash"/> (the
    /// crashed process's end) when it crashed. Returns whether the operation finished (was acknowledged).
    /// </summary>
    public async Task<bool> RunAsync(CrashSimulatingFileSystem disk, int point, Func<Task> operation, Func<Task>? afterCrash = null)
    {
        if (point <= Operations)
        {
            disk.CrashAtOperation = disk.OperationCount + point;
        }

        try
        {
            await operation();
            return true;
        }
        catch (Exception) when (disk.HasCrashed)
        {
            // The power cut: what the disk holds durably is what the next start finds.
        }

        if (afterCrash is not null)
        {
            try
            {
                await afterCrash();
            }
            catch (Exception) when (disk.HasCrashed)
            {
                // Nothing of a crashed machine's process reaches the disk.
            }
        }

        return false;
    }

    /// <summary>
    /// Samples up to <c>statesPerPoint</c> crash states of <paramref name="disk"/> per crash model and checks each: a
    /// problem <paramref name="check"/> returns, or an exception it throws, is a violation naming the point, the model
    /// and the state.
    /// </summary>
    public async Task CheckStatesAsync(CrashSimulatingFileSystem disk, int point, Func<DurableImage, Task<string?>> check)
    {
        string where = point <= Operations ? $"before {_dry!.Operations[_start + point - 1]}" : "after the last operation";
        foreach (CrashModel model in Models)
        {
            int checkedStates = 0;
            var random = new Random(CrashSeeds.Of(ReliabilityLedger.Seed, workload, point, model));
            foreach (DurableImage image in disk.PossibleCrashStates(model, statesPerPoint, random))
            {
                checkedStates++;
                string? problem;
                try
                {
                    problem = await check(image);
                }
                catch (Exception ex)
                {
                    problem = "the next start or its check failed: " + ex;
                }

                if (problem is not null)
                {
                    _violations.Add($"{workload}: point {point} ({where}), {model}, {image.Description}: {problem}");
                }
            }

            ledger.RecordCrashStates(workload, model, checkedStates);
        }
    }

    /// <summary>Fails the test with the violations found, if any.</summary>
    public void ThrowIfAny() => _violations.ThrowIfAny();
}
