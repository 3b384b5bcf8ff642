using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace StatePersistence.Events;

/// <summary>
/// Where a <see cref="StateEvent"/> is in the stream: the process's stream (<see cref="Epoch"/>), the change-feed
/// position it follows, and its index among the events since that position. Changes are positioned by the feed, so
/// resuming is exact for them even in another process (when the position is still held); written as
/// <c>epoch.position.index</c>, for example <c>3f9a0c1e.42.0</c>. On a store of one writer the feed position is the
/// committed group's revision; on a shared store (PostgreSQL) it is the group's place in commit order.
/// </summary>
/// <param name="Epoch">The stream of one running service; a new one after each start.</param>
/// <param name="FeedPosition">The feed position of the last change at or before the event.</param>
/// <param name="Index">The event's index among those after that position's changes began (-1: before the first).</param>
public readonly record struct StateEventPosition(string Epoch, long FeedPosition, int Index) : IComparable<StateEventPosition>
{
    /// <summary>Orders positions of one epoch (feed position, then index); positions of different epochs are not comparable.</summary>
    public int CompareTo(StateEventPosition other)
    {
        int order = FeedPosition.CompareTo(other.FeedPosition);
        return order != 0 ? order : Index.CompareTo(other.Index);
    }

    /// <summary>Whether <paramref name="left"/> is before <paramref name="right"/> (same epoch).</summary>
    public static bool operator <(StateEventPosition left, StateEventPosition right) => left.CompareTo(right) < 0;

    /// <summary>Whether <paramref name="left"/> is after <paramref name="right"/> (same epoch).</summary>
    public static bool operator >(StateEventPosition left, StateEventPosition right) => left.CompareTo(right) > 0;

    /// <summary>Whether <paramref name="left"/> is at or before <paramref name="right"/> (same epoch).</summary>
    public static bool operator <=(StateEventPosition left, StateEventPosition right) => left.CompareTo(right) <= 0;

    /// <summary>Whether <paramref name="left"/> is at or after <paramref name="right"/> (same epoch).</summary>
    public static bool operator >=(StateEventPosition left, StateEventPosition right) => left.CompareTo(right) >= 0;

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Epoch}.{FeedPosition}.{Index}");

    /// <summary>Reads a position written by <see cref="ToString"/>; false when <paramref name="text"/> is not one.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out StateEventPosition? position)
    {
        position = null;
        string[] parts = text?.Split('.') ?? [];
        if (parts.Length != 3 || parts[0].Length is 0 or > 32 || !parts[0].All(char.IsAsciiLetterOrDigit)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long revision)
            || !int.TryParse(parts[2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int index) || index < -1)
        {
            return false;
        }

        position = new StateEventPosition(parts[0], revision, index);
        return true;
    }
}
