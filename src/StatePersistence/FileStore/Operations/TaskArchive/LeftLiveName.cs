namespace StatePersistence.FileStore.Operations.TaskArchive;

/// <summary>How a run names a session log or report it kept live (<see cref="TaskArchiveResult.LeftLive"/>, and a damaged archive's kept).</summary>
internal static class LeftLiveName
{
    public static string Log(string sessionId) => $"the log of session {sessionId}";

    public static string Report(string reportId) => $"report {reportId}";
}
