namespace StatePersistence.Testing.Fixtures;

/// <summary>
/// Copies a directory tree, for tests that keep a state directory as it was (before an operation, at a kill) and put
/// it back or damage copies of it. Written without the core's internals: this file is also compiled into statectl's
/// tests.
/// </summary>
public static class DirectoryCopy
{
    /// <summary>
    /// Copies every file under <paramref name="from"/> to the same relative path under <paramref name="to"/>, except
    /// those whose relative path <paramref name="skip"/> accepts.
    /// </summary>
    public static void Copy(string from, string to, Func<string, bool>? skip = null)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(from, file);
            if (skip?.Invoke(relative) == true)
            {
                continue;
            }

            string target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
