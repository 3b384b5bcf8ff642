using System.Globalization;
using System.IO.Hashing;
using System.Text;
using StatePersistence;
using StatePersistence.Errors;
using StatePersistence.Model;
using StatePersistence.FileStore;

// Usage:
//   hold <state-dir>                 open the directory, print "ready", wait for stdin to close, shut down
//   save-loop <state-dir> <prefix> [--list] [--autosave-ms N]
//                                    save tasks <prefix>_<n> forever, printing "ack <id>" after each durable save;
//                                    with --list, print "starting" first and every recovered task before "ready"
//   mixed-loop <state-dir>           forever: save, update and delete tasks, save sessions, append to session logs and
//                                    save reports in a fixed order, printing "ack <n>" after each durable call
//   verify <state-dir>               open, print "task <id> <status> <descriptionLength> <descriptionCrc32>" for every task, exit
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: hold|save-loop|verify <state-dir> [prefix] [--list] [--autosave-ms N]");
    return 2;
}

bool list = args.Contains("--list");
int autosaveIndex = Array.IndexOf(args, "--autosave-ms");
TimeSpan autosave = autosaveIndex > 0 && autosaveIndex + 1 < args.Length
    ? TimeSpan.FromMilliseconds(int.Parse(args[autosaveIndex + 1], CultureInfo.InvariantCulture))
    : TimeSpan.FromMilliseconds(200);
var options = new StatePersistenceOptions { StatePath = args[1], AutosaveInterval = autosave };
try
{
    if (list)
    {
        // A kill right after this line lands in start-up recovery.
        Console.WriteLine("starting");
    }

    await using StatePersistenceService service = await FileStatePersistence.OpenAsync(options);
    switch (args[0])
    {
        case "hold":
            Console.WriteLine("ready");
            await Console.In.ReadToEndAsync();
            return 0;
        case "save-loop":
            string prefix = args.Length > 2 && !args[2].StartsWith("--", StringComparison.Ordinal) ? args[2] : "task";
            if (list)
            {
                await PrintTasksAsync(service);
            }

            if (Console.IsInputRedirected)
            {
                // Stdin closes when the test that started us dies; an orphan must not save forever.
                _ = Task.Run(async () =>
                {
                    await Console.In.ReadToEndAsync();
                    Environment.Exit(4);
                });
            }

            Console.WriteLine("ready");
            for (long n = 0; ; n++)
            {
                string id = $"{prefix}_{n}";
                await service.SaveTaskAsync(new AgentTask
                {
                    Id = id,
                    Description = Description(id),
                    Status = TaskStatuses.InProgress,
                    CreatedAt = DateTimeOffset.UtcNow,
                });
                Console.WriteLine("ack " + id);
            }

        case "mixed-loop":
            Console.WriteLine("ready");
            for (long n = 0; ; n++)
            {
                await MixedStepAsync(service, n);
                Console.WriteLine("ack " + n.ToString(CultureInfo.InvariantCulture));
            }

        case "verify":
            await PrintTasksAsync(service);
            return 0;
        default:
            Console.Error.WriteLine($"unknown command '{args[0]}'");
            return 2;
    }
}
catch (StateDirectoryLockedException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 3;
}

// One call of every kind the state directory holds, so a directory killed mid-loop has all of its file kinds.
static async Task MixedStepAsync(StatePersistenceService service, long n)
{
    string at = n.ToString(CultureInfo.InvariantCulture);
    switch (n % 6)
    {
        case 0 or 3:
            await service.SaveTaskAsync(new AgentTask
            {
                Id = $"t{n % 40}",
                Description = "task updated at step " + at,
                Status = n % 4 == 0 ? TaskStatuses.Completed : TaskStatuses.InProgress,
                CreatedAt = DateTimeOffset.UnixEpoch.AddSeconds(n),
            });
            break;
        case 1:
            await service.DeleteTaskAsync($"t{(n / 6 * 7) % 40}");
            break;
        case 2:
            // Every value is written once: a test comparing copies can tell the newest from an older one.
            await service.SaveSessionAsync(new SessionInfo { Id = $"s{n % 5}", Type = "interactive", Status = "active", TaskId = $"t{n % 40}-at-{at}" });
            break;
        case 4:
            await service.AppendSessionLogAsync($"s{n % 5}", "log line " + at + "\n");
            break;
        default:
            await service.SaveReportAsync($"r{n % 4}", System.Text.Json.JsonDocument.Parse("{\"step\":" + at + ",\"ok\":true}").RootElement);
            break;
    }
}

// The description the saving loop writes for an id; tests recompute it to check content, not just presence.
static string Description(string id) => new string('x', 200) + id;

static async Task PrintTasksAsync(StatePersistenceService service)
{
    foreach (AgentTask task in await service.LoadTasksAsync())
    {
        string description = task.Description ?? "";
        uint crc = Crc32.HashToUInt32(Encoding.UTF8.GetBytes(description));
        Console.WriteLine($"task {task.Id} {task.Status} {description.Length} {crc:x8}");
    }
}
