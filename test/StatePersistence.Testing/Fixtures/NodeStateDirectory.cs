using System.Text;

namespace StatePersistence.Testing.Fixtures;

/// <summary>
/// A hand-made state directory in the original Node implementation's layout (the seed's): <c>state.json</c> 1.0.0
/// with metrics and a field of the application's own, <c>state.backup.&lt;epoch-ms&gt;.json</c> backups, task and
/// session files (one task file newer than <c>state.json</c>, one task only in a file), per-call session logs
/// <c>logs/session_&lt;id&gt;_&lt;epoch-ms&gt;.log</c> of two sessions whose ids share a prefix (<c>sess_a</c> and
/// <c>sess_a_b</c>) and interleave in time, per-call reports <c>reports/report_&lt;id&gt;_&lt;epoch-ms&gt;.json</c> (two
/// for one id), stray <c>.tmp</c> files, and the Node server's 0755/0644 permissions. (This file is also compiled into
/// the server's and statectl's tests; the simulated-disk writer beside it is not, as it needs the core's internals.)
/// </summary>
public static partial class NodeStateDirectory
{
    /// <summary>The Node server's directory mode, 0755.</summary>
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>The Node server's file mode, 0644.</summary>
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>What <c>sess_a</c>'s log must read as: its three per-call files in time order.</summary>
    public const string SessionALog = "[10:00:00] session started\n[10:00:30] ran the tests: 3 failed\n[10:01:00] fixed auth.js; all tests pass\n";

    /// <summary>What <c>sess_a_b</c>'s log must read as (its one file falls between <c>sess_a</c>'s in time).</summary>
    public const string SessionABLog = "[10:00:15] docs session started\n";

    /// <summary>The newest of <c>rep_1</c>'s two reports: the one that must be served.</summary>
    public const string Report1 = """{"summary":"final","tests_passed":true,"files_created":["auth.js","auth.test.js"]}""";

    /// <summary>The older <c>rep_1</c> report, kept only in the pre-migration backup.</summary>
    public const string Report1Older = """{"summary":"first draft","tests_passed":false}""";

    /// <summary>The one <c>rep_2</c> report.</summary>
    public const string Report2 = """{"summary":"docs","pages":4}""";

    /// <summary>Every file, by path relative to the state directory.</summary>
    public static IReadOnlyDictionary<string, byte[]> Files { get; } = new SortedDictionary<string, byte[]>(StringComparer.Ordinal)
    {
        ["state.json"] = Utf8("""
            {
              "version": "1.0.0",
              "tasks": [
                {"id": "task_1", "description": "Implement authentication", "status": "in_progress", "tool": "CLAUDECODE",
                 "created_at": "2024-01-01T10:00:00Z", "updated_at": "2024-01-01T10:05:00Z", "started_at": "2024-01-01T10:05:00Z",
                 "logs": [{"timestamp": "2024-01-01T10:05:00Z", "level": "info", "type": "system", "message": "Task started"}]},
                {"id": "task_2", "description": "Write the docs", "status": "pending", "tool": "CLAUDECODE",
                 "created_at": "2024-01-01T10:10:00Z", "updated_at": "2024-01-01T10:10:00Z", "priority": "high"}
              ],
              "sessions": [
                {"id": "sess_a", "type": "claude", "status": "active", "created_at": "2024-01-01T10:00:00Z", "task_id": "task_1"},
                {"id": "sess_a_b", "type": "claude", "status": "active", "created_at": "2024-01-01T10:00:15Z", "task_id": "task_2", "model": "opus"}
              ],
              "metrics": {"total_tasks": 3, "completed_tasks": 1, "failed_tasks": 0, "average_completion_time": 5400000},
              "last_saved": "2024-01-01T11:00:00.000Z",
              "ui_theme": "dark"
            }
            """),
        ["state.backup.1704103000000.json"] = Utf8("""
            {"version": "1.0.0", "tasks": [], "sessions": [], "metrics": {"total_tasks": 0, "completed_tasks": 0, "failed_tasks": 0, "average_completion_time": 0}, "last_saved": "2024-01-01T09:56:40.000Z"}
            """),
        ["state.backup.1704103100000.json"] = Utf8("""
            {"version": "1.0.0", "tasks": [{"id": "task_1", "description": "Implement authentication", "status": "pending"}], "sessions": [], "metrics": {"total_tasks": 1, "completed_tasks": 0, "failed_tasks": 0, "average_completion_time": 0}, "last_saved": "2024-01-01T09:58:20.000Z"}
            """),
        ["state.json.tmp"] = Utf8("""{"version": "1.0.0", "tasks": [""" ),
        ["tasks/task_1.json"] = Utf8("""
            {"id": "task_1", "description": "Implement authentication", "status": "completed", "tool": "CLAUDECODE",
             "created_at": "2024-01-01T10:00:00Z", "updated_at": "2024-01-01T11:30:00Z", "started_at": "2024-01-01T10:05:00Z",
             "completed_at": "2024-01-01T11:30:00Z",
             "logs": [{"timestamp": "2024-01-01T10:05:00Z", "level": "info", "type": "system", "message": "Task started"},
                      {"timestamp": "2024-01-01T11:30:00Z", "level": "info", "type": "system", "message": "Task completed"}],
             "result": {"files_created": ["auth.js", "auth.test.js"], "tests_passed": true}}
            """),
        ["tasks/task_2.json"] = Utf8("""
            {"id": "task_2", "description": "Write the docs", "status": "pending", "tool": "CLAUDECODE",
             "created_at": "2024-01-01T10:10:00Z", "updated_at": "2024-01-01T10:10:00Z", "priority": "high"}
            """),
        ["tasks/task_3.json"] = Utf8("""
            {"id": "task_3", "description": "Fix the flaky test", "status": "failed", "tool": "CLAUDECODE",
             "created_at": "2024-01-01T11:40:00Z", "updated_at": "2024-01-01T11:45:00Z", "error": "timeout"}
            """),
        ["tasks/task_3.json.tmp"] = Utf8("""{"id": "task_3", "desc"""),
        ["sessions/sess_a.json"] = Utf8("""{"id": "sess_a", "type": "claude", "status": "completed", "created_at": "2024-01-01T10:00:00Z", "task_id": "task_1"}"""),
        ["sessions/sess_a_b.json"] = Utf8("""{"id": "sess_a_b", "type": "claude", "status": "active", "created_at": "2024-01-01T10:00:15Z", "task_id": "task_2", "model": "opus"}"""),
        ["logs/session_sess_a_1704103200000.log"] = Utf8("[10:00:00] session started\n"),
        ["logs/session_sess_a_1704103230000.log"] = Utf8("[10:00:30] ran the tests: 3 failed\n"),
        ["logs/session_sess_a_1704103260000.log"] = Utf8("[10:01:00] fixed auth.js; all tests pass\n"),
        ["logs/session_sess_a_b_1704103215000.log"] = Utf8(SessionABLog),
        ["reports/report_rep_1_1704106800000.json"] = Utf8(Report1Older),
        ["reports/report_rep_1_1704110400000.json"] = Utf8(Report1),
        ["reports/report_rep_2_1704110500000.json"] = Utf8(Report2),
    };

    /// <summary>Writes the directory on the real disk, with the Node server's permissions.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public static void WriteTo(string root)
    {
        foreach ((string relative, byte[] bytes) in Files)
        {
            string path = Path.Combine(root, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
            File.SetUnixFileMode(path, FileMode);
        }

        foreach (string directory in Directory.GetDirectories(root, "*", SearchOption.AllDirectories).Append(root))
        {
            File.SetUnixFileMode(directory, DirectoryMode);
        }
    }

    /// <summary>
    /// Every file's bytes under <paramref name="root"/> (those <paramref name="include"/> takes, by relative path), by
    /// relative path: what a byte-for-byte comparison compares.
    /// </summary>
    public static SortedDictionary<string, byte[]> ReadAll(string root, Func<string, bool>? include = null)
    {
        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (string path in Directory.GetFiles(root, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(root, path).Replace('\\', '/');
            if (include is null || include(relative))
            {
                files[relative] = File.ReadAllBytes(path);
            }
        }

        return files;
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
