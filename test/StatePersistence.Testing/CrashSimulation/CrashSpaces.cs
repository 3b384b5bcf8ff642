using System.Text;

namespace StatePersistence.Testing.CrashSimulation;

/// <summary>The choices a crash model offers, and how a vector of them turns into a disk.</summary>
internal interface ICrashSpace
{
    string Name { get; }

    /// <summary>How many choices each dimension has.</summary>
    int[] Radices { get; }

    /// <summary>The vector in which every pending operation persisted in full.</summary>
    int[] AllKept { get; }

    void Apply(int[] choices, DiskState state, StringBuilder description);
}

/// <summary><see cref="CrashModel.StrictWorstCase"/>: every unit of change is independent.</summary>
internal sealed class StrictSpace : ICrashSpace
{
    private readonly EntryOp[][] _units;
    private readonly DataOp[] _data;

    public StrictSpace(EntryOp[] entries, DataOp[] data)
    {
        // A rename within one directory is one unit: POSIX makes it atomic, so its link and unlink go together.
        _units = [.. entries.GroupBy(op => (op.Sequence, op.Directory)).Select(g => g.ToArray())];
        _data = WithStaleBytes(data);
        Radices = [.. _units.Select(_ => 2), .. _data.Select(op => op.StrictFates.Count)];
        AllKept = [.. Radices.Select(_ => 1)];
    }

    public string Name => nameof(CrashModel.StrictWorstCase);

    /// <summary>Gives each write the bytes of the write to the same file pending before it.</summary>
    private static DataOp[] WithStaleBytes(DataOp[] data)
    {
        var previous = new Dictionary<int, byte[]>();
        var result = new DataOp[data.Length];
        foreach ((DataOp op, int i) in data.Select((op, i) => (op, i)).OrderBy(p => p.op.Sequence))
        {
            result[i] = op.IsWrite && previous.TryGetValue(op.Inode, out byte[]? stale) ? op with { StaleBytes = stale } : op;
            if (op.IsWrite)
            {
                previous[op.Inode] = op.Bytes!;
            }
        }

        return result;
    }

    public int[] Radices { get; }

    public int[] AllKept { get; }

    public void Apply(int[] choices, DiskState state, StringBuilder description)
    {
        for (int i = 0; i < _units.Length; i++)
        {
            bool kept = choices[i] == 1;
            foreach (EntryOp op in _units[i])
            {
                if (kept)
                {
                    op.ApplyTo(state);
                }
            }

            description.Append(' ').Append(_units[i][0].Description).Append(" (in ").Append(_units[i][0].Directory)
                .Append("): ").Append(kept ? "kept" : "lost").Append(';');
        }

        for (int i = 0; i < _data.Length; i++)
        {
            DataFate fate = _data[i].StrictFates[choices[_units.Length + i]];
            _data[i].ApplyTo(state, fate);
            description.Append(' ').Append(_data[i].Description).Append(": ").Append(fate.ToString().ToLowerInvariant()).Append(';');
        }
    }
}

/// <summary><see cref="CrashModel.Ext4Ordered"/>: one journal prefix, per-file data prefixes, auto_da_alloc renames.</summary>
internal sealed class OrderedSpace : ICrashSpace
{
    private readonly EntryOp[][] _journal;
    private readonly DataOp[][] _files;
    private readonly (int Kept, bool Torn)[][] _fileChoices;
    private readonly Dictionary<int, int> _durableReplaceRenames;

    public OrderedSpace(EntryOp[] entries, DataOp[] data, Dictionary<int, int> durableReplaceRenames)
    {
        _journal = [.. entries.GroupBy(op => op.Sequence).Select(g => g.ToArray())];
        _files = [.. data.GroupBy(op => op.Inode).Select(g => g.ToArray())];
        _fileChoices = [.. _files.Select(FileChoices)];
        _durableReplaceRenames = durableReplaceRenames;
        Radices = [_journal.Length + 1, .. _fileChoices.Select(c => c.Length)];
        AllKept = [.. Radices.Select(radix => radix - 1)];
    }

    public string Name => nameof(CrashModel.Ext4Ordered);

    public int[] Radices { get; }

    public int[] AllKept { get; }

    public void Apply(int[] choices, DiskState state, StringBuilder description)
    {
        // Renames over an existing file that reached the disk pull the renamed file's earlier data with them.
        var dataBarrier = new Dictionary<int, int>(_durableReplaceRenames);
        int journalKept = choices[0];
        for (int i = 0; i < _journal.Length; i++)
        {
            foreach (EntryOp op in _journal[i])
            {
                if (i < journalKept)
                {
                    op.ApplyTo(state);
                    if (op.ReplacesExisting)
                    {
                        dataBarrier[op.Inode] = Math.Max(op.Sequence, dataBarrier.GetValueOrDefault(op.Inode));
                    }
                }
            }

            description.Append(' ').Append(_journal[i][0].Description).Append(": ").Append(i < journalKept ? "kept" : "lost").Append(';');
        }

        for (int f = 0; f < _files.Length; f++)
        {
            DataOp[] ops = _files[f];
            (int kept, bool torn) = _fileChoices[f][choices[f + 1]];
            int required = dataBarrier.TryGetValue(ops[0].Inode, out int barrier) ? ops.Count(op => op.Sequence < barrier) : 0;
            if (required > kept)
            {
                (kept, torn) = (required, false);
            }

            for (int i = 0; i < ops.Length; i++)
            {
                DataFate fate = i < kept ? DataFate.Kept : i == kept && torn ? DataFate.Torn : DataFate.Lost;
                ops[i].ApplyTo(state, fate);
                description.Append(' ').Append(ops[i].Description).Append(": ").Append(fate.ToString().ToLowerInvariant()).Append(';');
            }
        }
    }

    /// <summary>Keep the first j changes (0..n), optionally with change j torn; choice 0 keeps none, the last keeps all.</summary>
    private static (int Kept, bool Torn)[] FileChoices(DataOp[] ops)
    {
        var choices = new List<(int, bool)>();
        for (int j = 0; j <= ops.Length; j++)
        {
            choices.Add((j, false));
            if (j < ops.Length && ops[j].TornLength > 0)
            {
                choices.Add((j, true));
            }
        }

        return [.. choices];
    }
}
