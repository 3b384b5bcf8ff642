namespace StatePersistence.Testing.CrashSimulation;

/// <summary>Power cuts: the states a crash may leave, and booting one of them.</summary>
internal sealed partial class CrashSimulatingFileSystem
{
    /// <summary>The disk if the power went now and nothing pending reached it (what LazyFS leaves).</summary>
    public DurableImage DurableState
    {
        get
        {
            lock (_gate)
            {
                return _durable.ToImage("durable: every pending operation lost");
            }
        }
    }

    /// <summary>How many operations are waiting for a sync (a cross-directory rename counts twice).</summary>
    public int PendingOperationCount
    {
        get
        {
            lock (_gate)
            {
                return _pendingEntries.Count + _pendingData.Count;
            }
        }
    }

    /// <summary>
    /// The distinct disks a power cut now could leave under <paramref name="model"/>, from the operations not yet
    /// synced. When the model allows at most <paramref name="maxStates"/> combinations of their fates, every one is
    /// tried; otherwise the state with everything lost, the state with everything kept, and random combinations drawn
    /// from <paramref name="random"/> (seed 0 when null) until <paramref name="maxStates"/> were tried. Equal disks
    /// are returned once, so fewer than <paramref name="maxStates"/> may come back. The pending set is captured when
    /// this method is called, so the file system may change (or crash) while the result is enumerated;
    /// the states are built one at a time as it is.
    /// </summary>
    /// <param name="model">Which reorderings and partial writes the disk may show; see <see cref="CrashModel"/>.</param>
    /// <param name="maxStates">The most combinations to try; at least 1.</param>
    /// <param name="random">Where random combinations come from; the same seed gives the same states in the same order.</param>
    public IEnumerable<DurableImage> PossibleCrashStates(CrashModel model, int maxStates = 1024, Random? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxStates, 1);
        lock (_gate)
        {
            var enumerator = new CrashStateEnumerator(_durable, _pendingEntries, _pendingData, _durableReplaceRenames);
            return enumerator.Enumerate(model, maxStates, random ?? new Random(0));
        }
    }

    /// <summary>
    /// Reboots onto <paramref name="image"/>: a new file system whose durable image and volatile view both equal it,
    /// with an empty operation log, no pending operations and no locks, ready for recovery to run on.
    /// </summary>
    public static CrashSimulatingFileSystem FromImage(DurableImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        DiskState durable = DiskState.FromImage(image, out int nextInode);
        return new CrashSimulatingFileSystem(durable, nextInode);
    }
}
