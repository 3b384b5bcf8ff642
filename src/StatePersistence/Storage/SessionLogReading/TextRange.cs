namespace StatePersistence.Storage.SessionLogReading;

/// <summary>What every <see cref="ISessionLogReader"/> shares: checking a range, and writing the part of an append inside it.</summary>
internal static class TextRange
{
    /// <summary>Throws unless <c>offset..offset+count</c> lies within a text of <paramref name="length"/> bytes.</summary>
    public static void Validate(string sessionId, long offset, long count, long length)
    {
        if (offset < 0 || offset > length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset,
                $"The log of session '{sessionId}' holds {length} bytes of text: offset {offset} is outside 0..{length}.");
        }

        if (count < 0 || count > length - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count,
                $"The log of session '{sessionId}' holds {length} bytes of text: {count} bytes from offset {offset} is more than the {length - offset} there are.");
        }
    }

    /// <summary>
    /// Writes the bytes of <paramref name="text"/> (an append's text, starting at <paramref name="textStart"/> in the log)
    /// that lie in <c>from..end</c>.
    /// </summary>
    public static ValueTask WriteOverlapAsync(Stream destination, ReadOnlyMemory<byte> text, long textStart, long from, long end,
        CancellationToken cancellationToken)
    {
        long first = Math.Max(from, textStart);
        long last = Math.Min(end, textStart + text.Length);
        return last <= first ? ValueTask.CompletedTask
            : destination.WriteAsync(text.Slice((int)(first - textStart), (int)(last - first)), cancellationToken);
    }

    /// <summary>The index of the last checkpoint at or before <paramref name="offset"/> in <paramref name="textOffsets"/> (sorted, the first 0).</summary>
    public static int CheckpointBefore(IReadOnlyList<long> textOffsets, long offset)
    {
        int low = 0;
        int high = textOffsets.Count - 1;
        while (low < high)
        {
            int middle = (low + high + 1) / 2;
            if (textOffsets[middle] <= offset)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }

        return low;
    }
}
