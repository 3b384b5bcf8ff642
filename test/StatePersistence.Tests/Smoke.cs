namespace StatePersistence.Tests;
public class Smoke { [Fact] public void Works() => Assert.True(1 + 1 == 2); }
