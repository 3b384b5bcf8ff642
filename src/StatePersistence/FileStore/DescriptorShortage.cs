namespace StatePersistence.FileStore;

/// <summary>
/// A checkpoint's batch of item files cut short because the process had no file descriptor left: <see cref="Opened"/>
/// files were open (and were written and synced as a batch), the rest goes on in batches of <see cref="NextBatchSize"/>.
/// </summary>
internal sealed record DescriptorShortage(string Directory, int Opened, int NextBatchSize, string Error);
