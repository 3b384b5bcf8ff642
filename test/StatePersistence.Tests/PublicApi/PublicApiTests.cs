using System.Reflection;
using PublicApiGenerator;

namespace StatePersistence.Tests.PublicApi;

/// <summary>
/// Locks the public API of the library and of its hosting package: a change to either must be a visible decision,
/// made by updating the approved file (copy the <c>.received.txt</c> this test writes over the <c>.approved.txt</c>
/// beside it).
/// </summary>
public sealed class PublicApiTests
{
    [Fact]
    public void StatePersistence_PublicApi_IsApproved() => Approve(typeof(StatePersistenceService).Assembly);

    [Fact]
    public void StatePersistenceHosting_PublicApi_IsApproved() => Approve(typeof(Hosting.StatePersistenceHostingDefaults).Assembly);

    private static void Approve(Assembly assembly)
    {
        string api = assembly.GeneratePublicApi(new ApiGeneratorOptions
        {
            ExcludeAttributes = ["System.Runtime.Versioning.TargetFrameworkAttribute"],

            // The default hides System.* and Microsoft.* namespaces, where the DI extension methods live by convention.
            DenyNamespacePrefixes = [],
        })
            .ReplaceLineEndings("\n");
        string folder = Path.Combine(SourceFolder(), "PublicApi");
        string approved = Path.Combine(folder, assembly.GetName().Name + ".approved.txt");
        string received = Path.Combine(folder, assembly.GetName().Name + ".received.txt");
        string expected = File.Exists(approved) ? File.ReadAllText(approved).ReplaceLineEndings("\n") : "";
        if (expected != api)
        {
            File.WriteAllText(received, api);
            Assert.Fail($"The public API of {assembly.GetName().Name} changed. If that is intended, copy '{received}' over '{approved}'.");
        }

        File.Delete(received);
    }

    private static string SourceFolder([System.Runtime.CompilerServices.CallerFilePath] string path = "") =>
        Path.GetDirectoryName(Path.GetDirectoryName(path))!;
}
