using StatePersistence;
using StatePersistence.Errors;
using StatePersistence.Model;

// Usage:
//   hold <state-dir>                 open the directory, print "ready", wait for stdin to close, shut down
//   save-loop <state-dir> <prefix>   save tasks <prefix>_<n> forever, printing "ack <id>" after each durable save
//   verify <state-dir>               open, print "task <id> <status>" for every task, exit
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: hold|save-loop|verify <state-dir> [prefix]");
    return 2;
}

var options = new StatePersistenceOptions { StatePath = args[1], AutosaveInterval = TimeSpan.FromMilliseconds(200) };
try
{
    await using StatePersistenceService service = await StatePersistenceService.OpenAsync(options);
    switch (args[0])
    {
        case "hold":
            Console.WriteLine("ready");
            await Console.In.ReadToEndAsync();
            return 0;
        case "save-loop":
            string prefix = args.Length > 2 ? args[2] : "task";
            Console.WriteLine("ready");
            for (long n = 0; ; n++)
            {
                string id = $"{prefix}_{n}";
                await service.SaveTaskAsync(new AgentTask
                {
                    Id = id,
                    Description = new string('x', 200) + id,
                    Status = TaskStatuses.InProgress,
                    CreatedAt = DateTimeOffset.UtcNow,
                });
                Console.WriteLine("ack " + id);
            }

        case "verify":
            foreach (AgentTask task in await service.LoadTasksAsync())
            {
                Console.WriteLine($"task {task.Id} {task.Status} {task.Description?.Length}");
            }

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
