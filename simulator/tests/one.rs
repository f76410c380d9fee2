struct Print;
impl log::Log for Print {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, r: &log::Record) {
        if r.level() <= log::Level::Info {
            println!("LOG {}", r.args());
        }
    }
    fn flush(&self) {}
}
#[test]
fn one() {
    if std::env::var("LOGS").is_ok() {
        log::set_logger(&Print).unwrap();
        log::set_max_level(log::LevelFilter::Info);
    }
    let seed: u64 = std::env::var("SEED").unwrap().parse().unwrap();
    let mut c = simulator::Config::new(seed);
    if std::env::var("F1").is_ok() {
        c.frontends = 1;
    }
    if std::env::var("R5").is_ok() {
        c.replicas = 5;
        c.frontends = 3;
    }
    let r = simulator::run(&c);
    if let Some(v) = &r.violation {
        println!(
            "seed {seed}: {} — {} at t={}",
            v.invariant, v.detail, v.tick
        );
        for t in &v.trace {
            println!("  {t}");
        }
    }
}
