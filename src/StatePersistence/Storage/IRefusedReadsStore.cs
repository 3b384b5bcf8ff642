namespace StatePersistence.Storage;

/// <summary>
/// A store whose scrub reads files the file system can refuse to let it read (permissions, an I/O error): such a file
/// says nothing about its content, so it is no corruption and is not moved aside; the service reports it instead, as
/// a file that could not be read (<see cref="Service.Events.EventDispatcher.ScrubCouldNotRead"/>).
/// </summary>
internal interface IRefusedReadsStore
{
    /// <summary>The files the last scrub could not read, each with the file system's error; empty when it read every one.</summary>
    IReadOnlyList<RefusedRead> LastScrubRefusedReads { get; }
}

/// <summary>A file the file system refused to let the store read, and its error (<see cref="UnauthorizedAccessException"/>, <see cref="IOException"/>).</summary>
internal sealed record RefusedRead(string Path, Exception Error);
