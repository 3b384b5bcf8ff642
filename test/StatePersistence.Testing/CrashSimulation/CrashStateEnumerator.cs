using System.IO.Hashing;
using System.Text;

namespace StatePersistence.Testing.CrashSimulation;

/// <summary>
/// Builds the crash states of a snapshot of the pending operations. Each state is a vector of choices, one per
/// "dimension" (a pending directory change, a pending data change, or for the ordered model a prefix length);
/// choice 0 of every dimension means "nothing of it persisted". Small spaces are walked in full, large ones sampled.
/// </summary>
internal sealed class CrashStateEnumerator
{
    private readonly DiskState _durable;
    private readonly EntryOp[] _entries;
    private readonly DataOp[] _data;
    private readonly Dictionary<int, int> _durableReplaceRenames;

    public CrashStateEnumerator(DiskState durable, IEnumerable<EntryOp> entries, IEnumerable<DataOp> data, Dictionary<int, int> durableReplaceRenames)
    {
        // Copies, because the caller's lists keep changing while the states are enumerated.
        _durable = durable.Clone();
        _entries = [.. entries];
        _data = [.. data];
        _durableReplaceRenames = new Dictionary<int, int>(durableReplaceRenames);
    }

    public IEnumerable<DurableImage> Enumerate(CrashModel model, int maxStates, Random random)
    {
        ICrashSpace space = model switch
        {
            CrashModel.StrictWorstCase => new StrictSpace(_entries, _data),
            CrashModel.Ext4Ordered => new OrderedSpace(_entries, _data, _durableReplaceRenames),
            _ => throw new ArgumentOutOfRangeException(nameof(model), model, "Unknown crash model."),
        };
        return Enumerate(space, maxStates, random);
    }

    private IEnumerable<DurableImage> Enumerate(ICrashSpace space, int maxStates, Random random)
    {
        var seen = new HashSet<UInt128>();
        foreach (int[] choices in Vectors(space, maxStates, random))
        {
            var state = _durable.Clone();
            var description = new StringBuilder(space.Name).Append(':');
            space.Apply(choices, state, description);
            DurableImage image = state.ToImage(description.ToString());

            // A fingerprint rather than the image itself, so a long enumeration does not keep every state alive.
            if (seen.Add(Fingerprint(image)))
            {
                yield return image;
            }
        }
    }

    private static IEnumerable<int[]> Vectors(ICrashSpace space, int maxStates, Random random)
    {
        int[] radices = space.Radices;
        long combinations = 1;
        foreach (int radix in radices)
        {
            // Stop multiplying once past the budget, so thousands of pending operations cannot overflow.
            combinations = Math.Min(combinations * radix, (long)maxStates + 1);
        }

        if (combinations <= maxStates)
        {
            var vector = new int[radices.Length];
            for (long i = 0; i < combinations; i++)
            {
                yield return (int[])vector.Clone();
                for (int d = 0; d < vector.Length && ++vector[d] == radices[d]; d++)
                {
                    vector[d] = 0;
                }
            }

            yield break;
        }

        // Too many to try: always the two extremes (nothing persisted, everything persisted), then random draws.
        yield return new int[radices.Length];
        if (maxStates > 1)
        {
            yield return space.AllKept;
        }

        for (int i = 2; i < maxStates; i++)
        {
            yield return [.. radices.Select(radix => random.Next(radix))];
        }
    }

    private static UInt128 Fingerprint(DurableImage image)
    {
        var hash = new XxHash128();
        foreach (string directory in image.Directories)
        {
            hash.Append(Encoding.UTF8.GetBytes(directory + "/\0"));
        }

        foreach ((string path, ReadOnlyMemory<byte> contents) in image.Files)
        {
            hash.Append(Encoding.UTF8.GetBytes(path + "\0" + contents.Length + "\0"));
            hash.Append(contents.Span);
        }

        return hash.GetCurrentHashAsUInt128();
    }
}
