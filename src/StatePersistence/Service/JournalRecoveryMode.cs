namespace StatePersistence;

/// <summary>
/// What start-up recovery does with a damaged journal (named after RocksDB's WAL recovery modes). A torn tail (the end
/// of a write a crash interrupted, with no valid record after it) was never acknowledged and is dropped in every mode.
/// </summary>
public enum JournalRecoveryMode
{
    /// <summary>
    /// The default (RocksDB's <c>kSkipAnyCorruptedRecords</c>): skip a damaged record or header, resynchronise on the
    /// next valid record and replay everything valid after it; every skipped byte range and missing sequence number is
    /// reported (recovery report, health, a Warning or Error log line), and the damaged segment is moved aside after
    /// its valid records were written anew.
    /// </summary>
    SkipCorruptedRecords,

    /// <summary>
    /// RocksDB's <c>kAbsoluteConsistency</c> (less a torn, unacknowledged tail): any damage inside the journal, a
    /// missing sequence number or a record that does not decode stops the start with a
    /// <see cref="Errors.StateStorageException"/> naming the file and the bytes; the journal is left as it is (damage
    /// in a segment is found before anything in the directory is changed), so an operator can inspect or restore the
    /// directory before anything is replayed around the damage.
    /// </summary>
    AbsoluteConsistency,
}
