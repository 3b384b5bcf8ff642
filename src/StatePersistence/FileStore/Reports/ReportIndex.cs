namespace StatePersistence.FileStore.Reports;

/// <summary>
/// The ids of the reports in <c>reports/</c>, in ordinal order, kept in memory: a page of the listing and the count
/// the <c>MaxReports</c> quota checks each listed the whole folder before, 35-80 ms a report save and 40-100 ms a
/// page at 50,000 reports. Built from a listing of the folder on first use and kept by the store's own writes after
/// that (a save, an expiry, an archive's removal, a corrupt report moved aside), so a file put into the folder by hand
/// while the store runs is paged, counted and judged by the retention pass after the next start (a whole listing,
/// which re-encryption and the task archive take, reads the folder itself). A write that failed midway leaves the
/// folder's state unknown, so the index is dropped and built again.
/// <para>
/// The caller builds it (<see cref="Replace"/>) while no report write runs (the store's report lock), so a write
/// cannot fall between the listing and the index; each write runs through <see cref="Write"/> under the same lock.
/// </para>
/// </summary>
internal sealed class ReportIndex
{
    private readonly Lock _gate = new();
    private SortedSet<string>? _ids;

    /// <summary>Whether the index is built (false at first, and after a write that failed midway).</summary>
    public bool Built
    {
        get
        {
            lock (_gate)
            {
                return _ids is not null;
            }
        }
    }

    /// <summary>Replaces the index with the ids a whole listing of the folder found.</summary>
    public void Replace(IEnumerable<string> ids)
    {
        var fresh = new SortedSet<string>(ids, StringComparer.Ordinal);
        lock (_gate)
        {
            _ids = fresh;
        }
    }

    /// <summary>
    /// Runs <paramref name="write"/>, a write of report <paramref name="id"/> that leaves it <paramref name="stored"/>
    /// or not, and applies it to the index. A write that throws may have changed the folder or not (a rename done, its
    /// directory's fsync failed): the index is dropped, and the next use lists the folder.
    /// </summary>
    public T Write<T>(string id, bool stored, Func<T> write)
    {
        T result;
        try
        {
            result = write();
        }
        catch
        {
            lock (_gate)
            {
                _ids = null;
            }

            throw;
        }

        lock (_gate)
        {
            if (stored)
            {
                _ids?.Add(id);
            }
            else
            {
                _ids?.Remove(id);
            }
        }

        return result;
    }

    /// <summary>The ids after <paramref name="after"/> (from the first when null), at most <paramref name="limit"/>; null when not built.</summary>
    public IReadOnlyList<string>? Page(string? after, int limit)
    {
        lock (_gate)
        {
            if (_ids is null)
            {
                return null;
            }

            if (_ids.Count == 0 || (after is not null && string.CompareOrdinal(after, _ids.Max) >= 0))
            {
                return [];
            }

            // A view from the first id not below 'after' (an id equal to it is skipped): found in O(log n).
            IEnumerable<string> from = after is null ? _ids : _ids.GetViewBetween(after, _ids.Max!);
            var page = new List<string>(Math.Min(limit, 1024));
            foreach (string id in from)
            {
                if (page.Count == limit)
                {
                    break;
                }

                if (!string.Equals(id, after, StringComparison.Ordinal))
                {
                    page.Add(id);
                }
            }

            return page;
        }
    }

    /// <summary>How many reports the folder holds; null when not built.</summary>
    public long? Count
    {
        get
        {
            lock (_gate)
            {
                return _ids?.Count;
            }
        }
    }
}
