using StatePersistence.Cli;

return await Statectl.RunAsync(args).ConfigureAwait(false);
