using System.IO.Hashing;
using System.Text;
using StatePersistence.Testing.CrashSimulation;

namespace StatePersistence.CrashTests.Support;

/// <summary>
/// The seed of the crash states sampled at one crash point: a hash of the run's seed, the workload's name, the point
/// and the crash model. XxHash32, not <see cref="HashCode"/>: HashCode is randomized per process, so the samples
/// of a run could not be drawn again from its <c>RELIABILITY_SEED</c>; and the workload's whole name, not its length,
/// so two workloads whose names are equally long do not sample alike.
/// </summary>
internal static class CrashSeeds
{
    public static int Of(int runSeed, string workload, int point, CrashModel model) =>
        (int)XxHash32.HashToUInt32(Encoding.UTF8.GetBytes($"{runSeed}|{workload}|{point}|{model}"));
}
