// Fills a state directory through the library, without a server, to measure the statectl commands at scale
// (README "Scale and long runs"): the tasks of bench/ScaleLoad's populate (every 20th with 200-400 log entries,
// every 500th with a 300 KB unknown field), one session per 20 tasks, then two more checkpoints (two backups) and
// 200 changes left in the journal. With LOG_MB, session s0 also gets a log of about that many MiB, in 64 KiB appends
// (to measure the commands that read whole session logs: export, keys verify, verify).
//
//     dotnet run -c Release --project bench/StateFill -- DIRECTORY TASKS [LOG_MB]
using System.Globalization;
using System.Text.Json;
using StatePersistence;
using StatePersistence.FileStore;
using StatePersistence.Model;

int logMb = 0;
if (args.Length is not (2 or 3) || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count)
    || (args.Length == 3 && !int.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out logMb)))
{
    Console.Error.WriteLine("usage: StateFill DIRECTORY TASKS [LOG_MB]");
    return 2;
}

var options = new StatePersistenceOptions { StatePath = args[0], AutosaveInterval = TimeSpan.FromHours(1), ScrubInterval = TimeSpan.Zero };
await using StatePersistenceService service = await FileStatePersistence.OpenAsync(options);
JsonElement transcript = JsonSerializer.SerializeToElement(new string('x', 300_000));
var random = new Random(7);
var saves = new List<Task>();
for (int i = 0; i < count; i++)
{
    var task = new AgentTask
    {
        Id = $"task_{i:D6}", Description = $"Implement authentication {i}", Status = i % 3 == 0 ? TaskStatuses.Completed : TaskStatuses.Pending,
        Tool = "CLAUDECODE", CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow,
    };
    for (int j = 0, entries = i % 20 == 0 ? 200 + random.Next(200) : 0; j < entries; j++)
    {
        task.Logs.Add(new TaskLogEntry { Message = $"step {j} did something reasonably long to log here", Timestamp = DateTimeOffset.UtcNow });
    }

    if (i % 500 == 0)
    {
        task.ExtensionData = new() { ["transcript"] = transcript };
    }

    saves.Add(service.SaveTaskAsync(task).AsTask());
    if (saves.Count == 64)
    {
        await Task.WhenAll(saves);
        saves.Clear();
    }
}

await Task.WhenAll(saves);
for (int s = 0; s < count / 20; s++)
{
    await service.SaveSessionAsync(new SessionInfo { Id = $"s{s}", Type = "interactive", Status = "active" });
}

if (logMb > 0)
{
    // Lines of printable text, each append different (its number), so a copy that shuffles or drops one is seen.
    string line = new string('y', 120) + "\n";
    var chunk = new System.Text.StringBuilder();
    for (int append = 0; append < logMb * 16; append++)
    {
        chunk.Clear();
        while (chunk.Length < 64 * 1024 - 140)
        {
            chunk.Append(CultureInfo.InvariantCulture, $"{append:D7} ").Append(line);
        }

        await service.AppendSessionLogAsync("s0", chunk.ToString());
    }
}

await service.SaveSnapshotAsync();
for (int round = 0; round < 2; round++)
{
    for (int i = round * 200; i < (round + 1) * 200 && i < count; i++)
    {
        await service.SaveTaskAsync(new AgentTask { Id = $"task_{i:D6}", Description = $"changed in round {round}", Status = TaskStatuses.Pending });
    }

    if (round == 0)
    {
        await service.SaveSnapshotAsync();
    }
}

Console.WriteLine($"{count} tasks in {Path.GetFullPath(args[0])}");
return 0;
